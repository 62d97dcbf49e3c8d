-- 007_reserved.sql — number 007 is kept for the alias tokens of issue 11
-- (007_alias_tokens.sql); migrations must be numbered without a gap, so
-- until that one lands this one stands in its place and changes nothing.
-- Whoever adds 007_alias_tokens.sql removes this file.
SELECT 1;
