CREATE TABLE accounts (id int PRIMARY KEY, plan text NOT NULL DEFAULT 'free',
                       CONSTRAINT accounts_plan_check CHECK (plan IN ('free', 'pro')));
