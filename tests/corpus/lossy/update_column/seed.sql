INSERT INTO accounts VALUES (1, 'free'), (2, 'team'), (3, 'pro'), (4, 'team'), (5, 'team');
