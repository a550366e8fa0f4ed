PREPARE drop_flag(text) AS DELETE FROM feature_flags WHERE name = $1;
EXECUTE drop_flag('beta_search');
EXECUTE drop_flag('beta_feed');
DEALLOCATE drop_flag;
