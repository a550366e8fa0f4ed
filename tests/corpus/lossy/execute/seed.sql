UPDATE feature_flags SET enabled = true WHERE name = 'beta_search';
INSERT INTO feature_flags VALUES ('dark_mode', true);
