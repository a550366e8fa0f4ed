ALTER TABLE invoices ADD COLUMN notes text;

CREATE TABLE invoice_notes_history (
    id         bigserial PRIMARY KEY,
    invoice_id bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    notes      text,
    changed_at timestamptz NOT NULL DEFAULT now()
);
