begin;
drop table users;
commit;
