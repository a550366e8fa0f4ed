-- No explicit transaction; semicolons and keywords only inside quotes.
CREATE TABLE "billing;settings" (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    "commit"   text NOT NULL DEFAULT 'COMMIT;',
    "begin;"   text NOT NULL DEFAULT $$BEGIN; END;$$,
    separator  text NOT NULL DEFAULT ';' CHECK (separator IN (';', ',', E'\t'))
);
