-- +goose Up
-- The sweeper of unused media (internal/reclaim) asks, for each unused asset, whether a
-- clip being cut reads from it (clip assets keep their lesson's "vod/<id>/" as source
-- key); without an index that is a scan of every asset per candidate.
CREATE INDEX assets_source_key ON assets (source_key);

-- +goose Down
DROP INDEX assets_source_key;
