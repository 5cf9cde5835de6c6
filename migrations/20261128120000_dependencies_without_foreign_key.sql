-- A report's dependencies are written whole, in the transaction that inserts or locks the
-- project's row; the foreign key's check, one per inserted row, was half of the time to insert a
-- large report (4.5 of 9 ms for 1,000 rows). Integrity is kept by the two statements that touch
-- these rows: deleting a project deletes its dependencies in the same transaction, and writing a
-- report deletes every dependency row of its slug before inserting its own (so that rows left by
-- any earlier version cannot collide either).
ALTER TABLE dependencies DROP CONSTRAINT dependencies_slug_fkey;
