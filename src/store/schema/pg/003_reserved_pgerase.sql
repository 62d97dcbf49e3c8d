-- 003: a number taken by a migration written on another branch at the
-- same time; this file only keeps the numbers without a gap on the
-- branch that added 004_sealed_names.sql. Delete it when that migration
-- arrives.
SELECT 1;
