CREATE TABLE plans (
    code        text PRIMARY KEY,
    title       text NOT NULL,
    price_cents integer NOT NULL DEFAULT 0,
    seats       integer
);

ALTER TABLE accounts ADD COLUMN plan_code text REFERENCES plans (code);
