INSERT INTO archive.events (kind) VALUES ('signup'), ('login'), ('logout');
INSERT INTO archive.notes VALUES (1, 'first'), (2, NULL);
