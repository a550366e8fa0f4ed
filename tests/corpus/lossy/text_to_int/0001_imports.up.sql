CREATE TABLE imports (id int PRIMARY KEY, code integer);
