-- Identity hardening (issue 8): sign-in sessions that refresh tokens belong to,
-- replay detection for rotated refresh tokens, and one-use TOTP codes.

-- A session is one sign-in: its refresh tokens form a family (each rotation adds
-- the next), and its access tokens name it. Revoking the session (logout, or a
-- replayed rotated-out refresh token) ends every token of the family at once.
CREATE TABLE sessions (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Rotated tokens are kept (with rotated_at set) until they expire, so that
-- presenting one again is recognised as a replay rather than an unknown token.
-- Tokens issued before this migration have no session; rotating one starts one.
ALTER TABLE refresh_tokens ADD COLUMN session_id BIGINT REFERENCES sessions(id) ON DELETE CASCADE;
ALTER TABLE refresh_tokens ADD COLUMN rotated_at BIGINT;
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

-- The last TOTP time step accepted for the user: a code is accepted only for a
-- later step, so no code works twice.
ALTER TABLE users ADD COLUMN last_totp_step BIGINT;
