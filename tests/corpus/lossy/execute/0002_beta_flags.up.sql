INSERT INTO feature_flags VALUES ('beta_search', false), ('beta_feed', false);
