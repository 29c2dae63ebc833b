-- report_aggregations is the busiest table of the aggregation pipeline (issue 9): every
-- report gets a row on each aggregator, and the leader rewrites it once per step.

-- Room on each page for that rewrite: the leader's job driver updates a START_LEADER row (its
-- shares dropped, its state and prepare transition set), and a multi-round VDAF's rows are
-- updated once per round. With free space on the page the new version stays there (a HOT
-- update) and none of the table's indexes gets a new entry; on a full page (fillfactor 100,
-- the default) every update moves to another page with an insertion into each index. The
-- new version of a finished row is small (its shares are NULL), so 70 % leaves room for one
-- update of every row on a page.
ALTER TABLE report_aggregations SET (fillfactor = 70);

-- task_id stays (the replay check's index is on it), but its foreign key goes: the row's
-- aggregation job already belongs to the task (report aggregations are only written through
-- a join with their job), and deleting the task deletes its jobs and, through their foreign
-- key, their report aggregations. The check cost a lookup and a FOR KEY SHARE lock on the
-- one tasks row per inserted row, which concurrent job writers share (a MultiXact each time).
ALTER TABLE report_aggregations DROP CONSTRAINT report_aggregations_task_id_fkey;
