-- Placeholder: the signing-key rotation branch owns migration 003
-- (003_keys.sql); this empty step keeps the numbering gapless on the
-- sealing branch until the two merge, when that file replaces this one.
SELECT 1;
