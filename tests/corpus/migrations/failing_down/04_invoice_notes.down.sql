-- Broken on purpose: the second statement names a table that never existed (the up file created
-- invoice_notes_history), so this down fails after its first statement has run.
ALTER TABLE invoices DROP COLUMN notes;
ALTER TABLE invoice_note_history DROP CONSTRAINT invoice_note_history_invoice_id_fkey;
DROP TABLE invoice_notes_history;
