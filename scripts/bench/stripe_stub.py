#!/usr/bin/env python3
"""A tiny, fast Stripe stand-in for `just bench`, on loopback only.

A Stripe webhook is not trusted for its contents: Skillpay re-reads the
PaymentIntent (GET /v1/payment_intents/{id}) before it completes a payment.
Under load that read must cost next to nothing, or the benchmark measures
this stand-in instead of Skillpay. localstripe is stateful and far too slow
for thousands of requests a second, so this answers from no state at all:

  POST /v1/payment_intents          -> a new intent, requires_payment_method
  GET  /v1/payment_intents/{id}     -> that intent, succeeded
  anything else                     -> 404 in Stripe's error shape

Usage: stripe_stub.py PORT   (prints "ready" once it listens)
"""
import asyncio
import json
import sys
import uuid

NOT_FOUND = json.dumps({"error": {"type": "invalid_request_error", "code": "resource_missing"}}).encode()


def answer(status, body):
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def route(method, path):
    if method == "POST" and path == "/v1/payment_intents":
        pid = "pi_" + uuid.uuid4().hex
        body = {"id": pid, "object": "payment_intent", "status": "requires_payment_method",
                "client_secret": pid + "_secret_bench"}
        return answer("200 OK", json.dumps(body).encode())
    if method == "GET" and path.startswith("/v1/payment_intents/"):
        pid = path.rsplit("/", 1)[1]
        body = {"id": pid, "object": "payment_intent", "status": "succeeded"}
        return answer("200 OK", json.dumps(body).encode())
    return answer("404 Not Found", NOT_FOUND)


async def serve(reader, writer):
    # HTTP/1.1 keep-alive: the gateway client reuses its connections.
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            writer.write(route(method, target.split("?", 1)[0]))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
