-- CASCADE drops every column of the type: tasks.priority with it
DROP TYPE priority CASCADE;
