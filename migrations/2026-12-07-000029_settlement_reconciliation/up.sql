-- Settlement reconciliation (docs/reconciliation.md): what each gateway
-- booked, read in runs over periods, tied to what the ledger booked.

-- One run per gateway, mode and period. A run is leased while it works
-- (`leased_until`), so two instances never run one period at once; `step`
-- records how far it got, so a run interrupted half way resumes there.
CREATE TABLE settlement_runs (
    id           uuid        PRIMARY KEY,
    gateway      text        NOT NULL CHECK (gateway IN ('stripe', 'paypal')),
    livemode     boolean     NOT NULL,
    period_since timestamptz NOT NULL,
    period_until timestamptz NOT NULL CHECK (period_until > period_since),
    step         text        NOT NULL CHECK (step IN ('reading', 'payouts', 'matching', 'done')),
    leased_until timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    lines_read   integer     NOT NULL DEFAULT 0,
    matched      integer     NOT NULL DEFAULT 0,
    differing    integer     NOT NULL DEFAULT 0,
    last_error   text        CHECK (char_length(last_error) <= 1000),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    UNIQUE (gateway, livemode, period_since, period_until)
);
CREATE INDEX settlement_runs_latest_idx ON settlement_runs (gateway, livemode, period_until DESC);

-- A bank payout journal has no payment or payout: it belongs to the
-- platform's settlement with the gateway. Its mode is its own.
ALTER TABLE ledger_journals ADD COLUMN settlement boolean NOT NULL DEFAULT false;
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_settlement_has_no_subject
    CHECK (NOT settlement OR (payment_id IS NULL AND payout_id IS NULL));

-- Each line a gateway booked, once (its id is the gateway's). The object
-- it books (`object_kind`, `object_id`) is how it is matched; `result` is
-- its object's latest comparison; a bank payout line has the journal that
-- moved its money from the gateway's clearing account to the bank.
CREATE TABLE settlement_lines (
    gateway      text        NOT NULL,
    livemode     boolean     NOT NULL,
    line_id      text        NOT NULL,
    run_id       uuid        NOT NULL REFERENCES settlement_runs (id),
    kind         text        NOT NULL,
    amount_minor bigint      NOT NULL,
    fee_minor    bigint      NOT NULL,
    net_minor    bigint      NOT NULL,
    currency     text        NOT NULL,
    source       text,
    reference    text,
    bank_payout  text,
    created_at   timestamptz NOT NULL,
    object_kind  text        CHECK (object_kind IN ('sale', 'refund', 'dispute', 'transfer')),
    object_id    text,
    result       text        CHECK (result IN ('matched', 'amount_differs', 'fee_differs', 'missing_in_ledger',
                                               'unexpected_type')),
    journal_id   uuid        REFERENCES ledger_journals (id),
    PRIMARY KEY (gateway, livemode, line_id),
    CHECK (net_minor = amount_minor - fee_minor),
    CHECK ((object_kind IS NULL) = (object_id IS NULL))
);
CREATE INDEX settlement_lines_object_idx ON settlement_lines (gateway, livemode, object_kind, object_id);
CREATE INDEX settlement_lines_payout_idx ON settlement_lines (gateway, livemode, bank_payout) WHERE bank_payout IS NOT NULL;
CREATE INDEX settlement_lines_created_idx ON settlement_lines (gateway, livemode, created_at, line_id);
CREATE INDEX settlement_lines_run_idx ON settlement_lines (run_id);

-- The gateway's payouts to the platform's bank; `itemised` once the
-- gateway has said which lines each paid out.
CREATE TABLE settlement_payouts (
    gateway      text        NOT NULL,
    livemode     boolean     NOT NULL,
    payout_id    text        NOT NULL,
    amount_minor bigint      NOT NULL,
    currency     text        NOT NULL,
    status       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    arrival_at   timestamptz,
    itemised     boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (gateway, livemode, payout_id)
);

-- What a run found not to agree, for a person to resolve. `difference` is
-- the gateway's net less the ledger's, as the gateway's balance sees it.
-- At most one open discrepancy per object (or per unexplained line); a
-- later run that finds the object agreeing clears it.
CREATE TABLE settlement_discrepancies (
    id                   uuid        PRIMARY KEY,
    gateway              text        NOT NULL,
    livemode             boolean     NOT NULL,
    run_id               uuid        NOT NULL REFERENCES settlement_runs (id),
    object_kind          text        CHECK (object_kind IN ('sale', 'refund', 'dispute', 'transfer')),
    object_id            text        NOT NULL,
    result               text        NOT NULL CHECK (result IN ('amount_differs', 'fee_differs', 'missing_in_ledger',
                                                                'missing_at_gateway', 'unexpected_type')),
    currency             text        NOT NULL,
    gateway_amount_minor bigint      NOT NULL,
    gateway_fee_minor    bigint      NOT NULL,
    ledger_amount_minor  bigint      NOT NULL,
    ledger_fee_minor     bigint      NOT NULL,
    difference_minor     bigint      NOT NULL,
    status               text        NOT NULL CHECK (status IN ('open', 'adjusted', 'explained', 'cleared')),
    reason               text        CHECK (char_length(reason) <= 1000),
    resolved_by          bigint,
    resolved_at          timestamptz,
    journal_id           uuid        REFERENCES ledger_journals (id),
    opened_at            timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CHECK (difference_minor = (gateway_amount_minor - gateway_fee_minor) - (ledger_amount_minor - ledger_fee_minor)),
    CHECK ((status = 'adjusted') = (journal_id IS NOT NULL)),
    CHECK (status NOT IN ('adjusted', 'explained') OR (reason IS NOT NULL AND resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX settlement_discrepancies_one_open_idx
    ON settlement_discrepancies (gateway, livemode, coalesce(object_kind, 'line'), object_id) WHERE status = 'open';
CREATE INDEX settlement_discrepancies_list_idx ON settlement_discrepancies (opened_at, id);

CREATE TRIGGER settlement_discrepancies_audited AFTER INSERT OR UPDATE ON settlement_discrepancies
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('settlement_discrepancy');
