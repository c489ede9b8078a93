-- RouteChat notes, one row per note. `id` is the arrival order: replay is oldest first by id,
-- and the oldest ids are trimmed first. Runs with search_path set to the store's schema.
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    latitude integer NOT NULL,
    longitude integer NOT NULL,
    -- bytea rather than text: a proto3 string may hold U+0000, which text rejects.
    message bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Replay reads one location in id order; the per-location trim deletes its oldest ids.
CREATE INDEX notes_by_location ON notes (latitude, longitude, id);
