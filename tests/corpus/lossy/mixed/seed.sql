INSERT INTO users VALUES (1, 'ann@example.test', 'pro'), (2, 'bob@example.test', NULL), (3, 'cy@example.test', 'free');
INSERT INTO sessions VALUES (1, 1, 'sso'), (2, 1, 'password'), (3, 2, 'sso');
INSERT INTO sso_audit VALUES (1, 1, '2024-01-01 10:00:00+00'), (2, 3, '2024-01-02 11:00:00+00');
