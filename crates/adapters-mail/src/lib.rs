//! Skillpay's e-mail transport (see docs/notifications.md): renders a
//! draft with the templates of `templates/mail/`, attaches a receipt's PDF,
//! and sends it through SMTP (lettre over rustls), or writes it as an
//! `.eml` file when no server is set (development).
#![forbid(unsafe_code)]

mod render;
mod smtp;

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::Utc;
use documents::{Locale, ReceiptLinks};
use domain::ports::{Draft, MailTransport, SendError};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use render::{Rendered, Templates};

/// Where messages go.
enum Route {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a directory.
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Renders and sends messages.
pub struct LettreTransport {
    route: Route,
    from: Mailbox,
    templates: Templates,
    links: ReceiptLinks,
    public_url: String,
}

impl std::fmt::Debug for LettreTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let route = match self.route {
            Route::Smtp(_) => "smtp",
            Route::Files(_) => "files",
        };
        f.debug_struct("LettreTransport")
            .field("route", &route)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Why the transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The SMTP URL is not one lettre reads.
    #[error("SKILLPAY_SMTP_URL is not a usable SMTP URL")]
    SmtpUrl,
    /// The certificate authority is not one PEM certificate.
    #[error("SKILLPAY_SMTP_CA_FILE holds no PEM certificate")]
    SmtpCa,
    /// A certificate authority was given for a connection without TLS.
    #[error("SKILLPAY_SMTP_CA_FILE is set, but SKILLPAY_SMTP_URL asks for no TLS (use smtps:// or ?tls=required)")]
    SmtpCaWithoutTls,
    /// The sender is not a mailbox.
    #[error("SKILLPAY_MAIL_FROM is not an address such as `Skillpay <receipts@example.com>`")]
    From,
    /// The mail directory cannot be made.
    #[error("the mail directory cannot be created: {0}")]
    Directory(std::io::Error),
    /// A template does not parse.
    #[error("a mail template does not parse: {0}")]
    Template(String),
}

impl LettreTransport {
    /// A transport sending through `smtp_url` (as lettre reads it:
    /// `smtps://user:pass@host`, `smtp://host:587?tls=required`,
    /// `smtp://127.0.0.1:2525`), trusting the certificate authority
    /// `smtp_ca_pem` too when given, or writing `.eml` files into `dir`
    /// when there is none. Receipt links are signed with `links` under
    /// `public_url`.
    pub fn new(
        smtp_url: Option<&str>,
        smtp_ca_pem: Option<&[u8]>,
        dir: PathBuf,
        from: &str,
        links: ReceiptLinks,
        public_url: &str,
    ) -> Result<Self, SetupError> {
        let route = match smtp_url {
            Some(url) => Route::Smtp(smtp::transport(url, smtp_ca_pem)?),
            None => {
                std::fs::create_dir_all(&dir).map_err(SetupError::Directory)?;
                Route::Files(AsyncFileTransport::<Tokio1Executor>::new(dir))
            }
        };
        Ok(Self {
            route,
            from: from.parse().map_err(|_| SetupError::From)?,
            templates: Templates::new().map_err(|e| SetupError::Template(e.to_string()))?,
            links,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// `draft` as a MIME message: text and HTML alternatives, and a
    /// receipt's PDF attached.
    pub fn message(&self, draft: &Draft) -> Result<Message, SendError> {
        let link =
            draft.receipt.as_ref().map(|r| format!("{}{}", self.public_url, self.links.path(r.payment.id, Utc::now())));
        let rendered = self.templates.render(draft, link.as_deref()).map_err(|e| SendError::Render(e.to_string()))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(rendered.subject)
            .message_id(Some(draft.message_id.clone()));
        for recipient in &draft.to {
            // An address that does not parse (a line break, two addresses)
            // is refused here: nothing reaches a header unchecked.
            let address =
                recipient.email.parse().map_err(|_| SendError::Render("a recipient address is invalid".into()))?;
            builder =
                builder.to(Mailbox::new(recipient.name.clone().filter(|n| !n.chars().any(char::is_control)), address));
        }
        let alternatives = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(rendered.text))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(rendered.html));
        let body = match &draft.receipt {
            Some(receipt) => {
                let locale = Locale::parse(&draft.locale).unwrap_or_default();
                let pdf = documents::pdf(&documents::sheet(receipt, locale));
                let kind = ContentType::parse("application/pdf").map_err(|e| SendError::Render(e.to_string()))?;
                MultiPart::mixed()
                    .multipart(alternatives)
                    .singlepart(Attachment::new(format!("{}.pdf", receipt.number)).body(pdf, kind))
            }
            None => alternatives,
        };
        builder.multipart(body).map_err(|e| SendError::Render(e.to_string()))
    }
}

#[async_trait]
impl MailTransport for LettreTransport {
    async fn send(&self, draft: &Draft) -> Result<(), SendError> {
        let message = self.message(draft)?;
        let sent = match &self.route {
            // lettre's own timeout bounds connecting, not a server that
            // stops answering half way: the whole conversation is bounded
            // here, so a hung server delays the worker, never stalls it.
            Route::Smtp(smtp) => match tokio::time::timeout(smtp::CONVERSATION_TIMEOUT, smtp.send(message)).await {
                Ok(sent) => sent.map(|_| ()).map_err(|e| {
                    // The category only: a server's answer can name internal hosts.
                    if e.is_permanent() {
                        "the mail server refused the message"
                    } else {
                        "the mail server could not be reached"
                    }
                }),
                Err(_) => Err("the mail server did not answer in time"),
            },
            Route::Files(files) => {
                files.send(message).await.map(|_| ()).map_err(|_| "the message file could not be written")
            }
        };
        sent.map_err(|why| {
            tracing::warn!(template = %draft.template, why, "mail not sent; retried later");
            SendError::Transport(why.to_owned())
        })
    }
}
