-- The conflict inbox (`GET /v1/local/changes?status=rejected`) pages the
-- rejected changes in log order; the rest of the table is settled history.
CREATE INDEX changes_rejected_in_log_order ON changes (position) WHERE status = 'rejected';
