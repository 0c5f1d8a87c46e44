import Foundation

/// PostgreSQL's migrations: the same tables as SQLite's (`Schema`), in PostgreSQL's types
/// (bigint ids, timestamptz, bytea), and case-insensitive names as unique indexes on lower().
/// Versioned and append-only like SQLite's: never edit a shipped one, add the next.
enum PostgresSchema {
    static let migrations: [(name: String, statements: [String])] = [
        ("v1: the schema of SQLite's v1 to v11", v1),
        ("v2: keyset pages", v2),
        ("v3: mail-server tasks", v3),
        ("v4: clear-text generic passwords found at once", v4),
        ("v5: failed account passwords counted for every node", v5),
    ]

    /// Applies what is missing, under the write lock (two nodes starting at once do not race);
    /// returns true when the database was empty.
    static func migrate(_ connection: PostgresConnectionAdapter) async throws -> Bool {
        try await connection.simple("BEGIN")
        do {
            _ = try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresEngine.writeLock))", [])
            try await connection.simple("CREATE TABLE IF NOT EXISTS posternMigration (name TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL)")
            var applied: Set<String> = []
            try await connection.query("SELECT name FROM posternMigration", []) { applied.insert($0[0]) }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await connection.simple(statement) }
                _ = try await connection.execute("INSERT INTO posternMigration (name, appliedAt) VALUES (?, ?)", [.text(migration.name), .date(Date())])
            }
            try await connection.simple("COMMIT")
            return applied.isEmpty
        } catch {
            try? await connection.simple("ROLLBACK")
            throw error
        }
    }

    static let v1: [String] = [
        """
        CREATE TABLE organization (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, createdAt TIMESTAMPTZ NOT NULL,
          redirectionScope TEXT NOT NULL DEFAULT 'any')
        """,
        "CREATE UNIQUE INDEX organization_name ON organization (lower(name))",
        """
        CREATE TABLE mailService (id BIGSERIAL PRIMARY KEY, organizationId BIGINT NOT NULL REFERENCES organization(id) ON DELETE RESTRICT,
          name TEXT NOT NULL, createdAt TIMESTAMPTZ NOT NULL, defaultPermissions BIGINT NOT NULL DEFAULT 1)
        """,
        "CREATE UNIQUE INDEX mailService_name ON mailService (lower(name))",
        "CREATE INDEX mailService_by_organization ON mailService (organizationId)",
        "CREATE TABLE domain (name TEXT PRIMARY KEY, mailServiceId BIGINT NOT NULL REFERENCES mailService(id) ON DELETE CASCADE)",
        "CREATE INDEX domain_by_service ON domain (mailServiceId)",
        """
        CREATE TABLE mailbox (id BIGSERIAL PRIMARY KEY, mailServiceId BIGINT NOT NULL REFERENCES mailService(id) ON DELETE RESTRICT,
          address TEXT NOT NULL UNIQUE, createdAt TIMESTAMPTZ NOT NULL)
        """,
        "CREATE INDEX mailbox_address_lower ON mailbox (lower(address))",
        "CREATE INDEX mailbox_by_service ON mailbox (mailServiceId)",
        """
        CREATE TABLE device (id BIGSERIAL PRIMARY KEY, mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
          name TEXT NOT NULL, kind TEXT NOT NULL, digest BYTEA UNIQUE, genericHash TEXT, createdAt TIMESTAMPTZ NOT NULL,
          rotatedAt TIMESTAMPTZ, lastUsedAt TIMESTAMPTZ, lastIP TEXT, lastService TEXT, scopes TEXT, expiresAt TIMESTAMPTZ,
          expiryHandled BIGINT NOT NULL DEFAULT 0, UNIQUE (mailboxId, name),
          CHECK ((kind = 'device' AND digest IS NOT NULL AND genericHash IS NULL) OR (kind = 'generic' AND digest IS NULL AND genericHash IS NOT NULL)))
        """,
        "CREATE INDEX device_by_expiry ON device (expiresAt) WHERE expiresAt IS NOT NULL",
        """
        CREATE TABLE history (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, mailbox TEXT, actor TEXT NOT NULL, action TEXT NOT NULL,
          detail TEXT NOT NULL, actorKind TEXT, origin TEXT, organizationId BIGINT, "before" TEXT, "after" TEXT)
        """,
        "CREATE INDEX history_by_mailbox ON history (mailbox, id)",
        "CREATE INDEX history_by_organization ON history (organizationId, id)",
        """
        CREATE FUNCTION postern_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the action history is append-only'; END $$
        """,
        "CREATE TRIGGER history_no_change BEFORE UPDATE OR DELETE ON history FOR EACH ROW EXECUTE FUNCTION postern_history_append_only()",
        "CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history FOR EACH STATEMENT EXECUTE FUNCTION postern_history_append_only()",
        """
        CREATE TABLE genericPolicy (level TEXT NOT NULL CHECK (level IN ('organization', 'service', 'mailbox')), targetId BIGINT NOT NULL,
          refused TEXT NOT NULL, fromDate TIMESTAMPTZ, updatedAt TIMESTAMPTZ NOT NULL, PRIMARY KEY (level, targetId))
        """,
        """
        CREATE FUNCTION postern_policy_target_gone() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM genericPolicy WHERE level = TG_ARGV[0] AND targetId = OLD.id; RETURN OLD; END $$
        """,
        "CREATE TRIGGER genericPolicy_mailbox_gone AFTER DELETE ON mailbox FOR EACH ROW EXECUTE FUNCTION postern_policy_target_gone('mailbox')",
        "CREATE TRIGGER genericPolicy_service_gone AFTER DELETE ON mailService FOR EACH ROW EXECUTE FUNCTION postern_policy_target_gone('service')",
        """
        CREATE TRIGGER genericPolicy_organization_gone AFTER DELETE ON organization FOR EACH ROW
          EXECUTE FUNCTION postern_policy_target_gone('organization')
        """,
        """
        CREATE TABLE failedLogin (mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE, ip TEXT NOT NULL, service TEXT NOT NULL,
          mechanism TEXT NOT NULL, firstAt TIMESTAMPTZ NOT NULL, lastAt TIMESTAMPTZ NOT NULL, count BIGINT NOT NULL, throttled BIGINT NOT NULL,
          PRIMARY KEY (mailboxId, ip, service, mechanism))
        """,
        "CREATE INDEX failedLogin_by_last ON failedLogin (lastAt)",
        """
        CREATE TABLE "user" (id BIGSERIAL PRIMARY KEY, login TEXT NOT NULL, displayName TEXT NOT NULL, passwordHash TEXT,
          createdAt TIMESTAMPTZ NOT NULL)
        """,
        "CREATE UNIQUE INDEX user_login ON \"user\" (lower(login))",
        """
        CREATE TABLE membership (userId BIGINT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
          organizationId BIGINT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
          role TEXT NOT NULL CHECK (role IN ('legal-representative', 'administrator', 'collaborator', 'external')),
          createdAt TIMESTAMPTZ NOT NULL, PRIMARY KEY (userId, organizationId))
        """,
        "CREATE INDEX membership_by_organization ON membership (organizationId)",
        """
        CREATE TABLE serviceGrant (userId BIGINT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
          mailServiceId BIGINT NOT NULL REFERENCES mailService(id) ON DELETE CASCADE, PRIMARY KEY (userId, mailServiceId))
        """,
        """
        CREATE TABLE mailboxAccess (userId BIGINT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
          mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE, permissions BIGINT NOT NULL, updatedAt TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (userId, mailboxId))
        """,
        "CREATE INDEX mailboxAccess_by_mailbox ON mailboxAccess (mailboxId)",
        """
        CREATE TABLE apiToken (id BIGSERIAL PRIMARY KEY, userId BIGINT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
          kind TEXT NOT NULL CHECK (kind IN ('token', 'session')), name TEXT NOT NULL, digest BYTEA NOT NULL UNIQUE,
          createdAt TIMESTAMPTZ NOT NULL, expiresAt TIMESTAMPTZ NOT NULL, lastUsedAt TIMESTAMPTZ, lastIP TEXT)
        """,
        "CREATE INDEX apiToken_by_user ON apiToken (userId)",
        """
        CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, recipient TEXT NOT NULL, message TEXT NOT NULL, createdAt TIMESTAMPTZ NOT NULL,
          attempts BIGINT NOT NULL DEFAULT 0, nextAttemptAt TIMESTAMPTZ NOT NULL, lastError TEXT)
        """,
        """
        CREATE TABLE alias (id BIGSERIAL PRIMARY KEY, mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
          address TEXT NOT NULL UNIQUE, createdAt TIMESTAMPTZ NOT NULL)
        """,
        "CREATE INDEX alias_by_mailbox ON alias (mailboxId)",
        """
        CREATE TABLE redirection (mailboxId BIGINT PRIMARY KEY REFERENCES mailbox(id) ON DELETE CASCADE, targets TEXT NOT NULL,
          keepCopy BIGINT NOT NULL, updatedAt TIMESTAMPTZ NOT NULL)
        """,
        """
        CREATE TABLE sortingRule (id BIGSERIAL PRIMARY KEY, mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
          position BIGINT NOT NULL, rule TEXT NOT NULL, updatedAt TIMESTAMPTZ NOT NULL)
        """,
        "CREATE INDEX sortingRule_by_mailbox ON sortingRule (mailboxId, position)",
        """
        CREATE TABLE mailSettings (mailboxId BIGINT PRIMARY KEY REFERENCES mailbox(id) ON DELETE CASCADE, spam TEXT, responder TEXT,
          senders TEXT, updatedAt TIMESTAMPTZ NOT NULL)
        """,
        """
        CREATE TABLE signature (mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
          userId BIGINT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE, text TEXT NOT NULL, replyTo TEXT, updatedAt TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (mailboxId, userId))
        """,
        "CREATE TABLE changeLog (seq BIGINT PRIMARY KEY, at TIMESTAMPTZ NOT NULL, node TEXT NOT NULL, change TEXT NOT NULL)",
    ]

    /// Keyset pages: addresses in byte order (the "C" collation, as SQLite's BINARY), by service
    /// and overall; a mailbox's devices by id.
    static let v2: [String] = [
        "CREATE INDEX mailbox_by_service_address ON mailbox (mailServiceId, address COLLATE \"C\")",
        "CREATE INDEX mailbox_address_bytes ON mailbox (address COLLATE \"C\")",
        "CREATE INDEX device_by_mailbox ON device (mailboxId, id)",
    ]

    /// What a write asks of the mail servers, committed with it and done after the commit (SQLite's v13).
    static let v3: [String] = [
        """
        CREATE TABLE serverTask (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, mailboxId BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
          argument TEXT NOT NULL DEFAULT '', createdAt TIMESTAMPTZ NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
          nextAttemptAt TIMESTAMPTZ NOT NULL, lastError TEXT, firstFailedAt TIMESTAMPTZ, generation BIGINT NOT NULL DEFAULT 0)
        """,
        "CREATE UNIQUE INDEX serverTask_one_script ON serverTask (mailboxId) WHERE kind = 'sieve'",
        "CREATE INDEX serverTask_due ON serverTask (nextAttemptAt)",
    ]

    /// Generic passwords imported in clear text before they were hashed on the way in: found at
    /// start without reading the device table (SQLite's v14).
    static let v4: [String] = [
        "CREATE INDEX device_clear_text ON device (id) WHERE kind = 'generic' AND genericHash LIKE '{PLAIN}%'",
    ]

    /// Failed sign-ins and re-confirmations, counted where every node reads them (SQLite's v15):
    /// written outside the change log, with no write lock (`Store.tally`).
    static let v5: [String] = [
        "CREATE TABLE failureCount (subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, lastAt BIGINT NOT NULL)",
        "CREATE INDEX failureCount_lastAt ON failureCount (lastAt)",
    ]
}
