INSERT INTO audit_log VALUES (1, 1, 'login'), (2, 1, 'logout');
