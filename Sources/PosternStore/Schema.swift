import GRDB

/// Versioned, append-only migrations. Never edit a shipped migration: add a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: organizations, mail services, mailboxes, devices, history") { db in
            try db.create(table: "organization") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "mailService") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("organization", onDelete: .restrict).notNull()
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "domain") { t in
                t.primaryKey("name", .text)
                t.belongsTo("mailService", onDelete: .cascade).notNull()
            }
            try db.create(table: "mailbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("mailService", onDelete: .restrict).notNull()
                t.column("address", .text).notNull().unique()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "device") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("mailbox", onDelete: .cascade).notNull()
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("digest", .blob).unique()
                t.column("genericHash", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("rotatedAt", .datetime)
                t.column("lastUsedAt", .datetime)
                t.column("lastIP", .text)
                t.column("lastService", .text)
                t.uniqueKey(["mailboxId", "name"])
                t.check(sql: "(kind = 'device' AND digest IS NOT NULL AND genericHash IS NULL) OR (kind = 'generic' AND digest IS NULL AND genericHash IS NOT NULL)")
            }
            try db.create(table: "history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("mailbox", .text)
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("detail", .text).notNull()
            }
            try db.create(index: "history_by_mailbox", on: "history", columns: ["mailbox", "id"])
            // Append-only: the action history can be added to, never rewritten.
            try db.execute(sql: """
                CREATE TRIGGER history_no_update BEFORE UPDATE ON history BEGIN SELECT RAISE(ABORT, 'the action history is append-only'); END;
                CREATE TRIGGER history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'the action history is append-only'); END;
                """)
        }
        migrator.registerMigration("v2: device scopes") { db in
            try db.alter(table: "device") { t in
                t.add(column: "scopes", .text)  // "imap,smtp"; NULL: every service
            }
        }
        migrator.registerMigration("v3: generic-password policies") { db in
            // One row per organization, mail service or mailbox that has a policy; `refused` is
            // "imap,smtp" (empty: allowed), `fromDate` when the refusal starts (NULL: at once).
            try db.create(table: "genericPolicy") { t in
                t.column("level", .text).notNull()
                t.column("targetId", .integer).notNull()
                t.column("refused", .text).notNull()
                t.column("fromDate", .datetime)
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["level", "targetId"])
                t.check(sql: "level IN ('organization', 'service', 'mailbox')")
            }
            try db.execute(sql: """
                CREATE TRIGGER genericPolicy_mailbox_gone AFTER DELETE ON mailbox BEGIN
                  DELETE FROM genericPolicy WHERE level = 'mailbox' AND targetId = OLD.id; END;
                CREATE TRIGGER genericPolicy_service_gone AFTER DELETE ON mailService BEGIN
                  DELETE FROM genericPolicy WHERE level = 'service' AND targetId = OLD.id; END;
                CREATE TRIGGER genericPolicy_organization_gone AFTER DELETE ON organization BEGIN
                  DELETE FROM genericPolicy WHERE level = 'organization' AND targetId = OLD.id; END;
                """)
        }
        migrator.registerMigration("v4: device expiry") { db in
            try db.alter(table: "device") { t in
                t.add(column: "expiresAt", .datetime)       // NULL: never
                t.add(column: "expiryHandled", .boolean).notNull().defaults(to: false)  // hooks and history done
            }
            try db.create(index: "device_by_expiry", on: "device", columns: ["expiresAt"], condition: Column("expiresAt") != nil)
        }
        migrator.registerMigration("v5: failed logins") { db in
            // Per mailbox, client IP ("" when the request named none), service and mechanism.
            try db.create(table: "failedLogin") { t in
                t.belongsTo("mailbox", onDelete: .cascade).notNull()
                t.column("ip", .text).notNull()
                t.column("service", .text).notNull()
                t.column("mechanism", .text).notNull()
                t.column("firstAt", .datetime).notNull()
                t.column("lastAt", .datetime).notNull()
                t.column("count", .integer).notNull()
                t.column("throttled", .integer).notNull()
                t.primaryKey(["mailboxId", "ip", "service", "mechanism"])
            }
            try db.create(index: "failedLogin_by_last", on: "failedLogin", columns: ["lastAt"])
        }
        migrator.registerMigration("v6: users, members, mailbox access") { db in
            // A person with an account password (Argon2id; never a mail password).
            try db.create(table: "user") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("login", .text).notNull().unique().collate(.nocase)
                t.column("displayName", .text).notNull()
                t.column("passwordHash", .text)  // NULL: cannot sign in (yet)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "membership") { t in
                t.belongsTo("user", onDelete: .cascade).notNull()
                t.belongsTo("organization", onDelete: .cascade).notNull()
                t.column("role", .text).notNull()
                    .check(sql: "role IN ('legal-representative', 'administrator', 'collaborator', 'external')")
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["userId", "organizationId"])
            }
            // Mail services given to a collaborator, and mailboxes given to any member.
            try db.create(table: "serviceGrant") { t in
                t.belongsTo("user", onDelete: .cascade).notNull()
                t.belongsTo("mailService", onDelete: .cascade).notNull()
                t.primaryKey(["userId", "mailServiceId"])
            }
            try db.create(table: "mailboxAccess") { t in
                t.belongsTo("user", onDelete: .cascade).notNull()
                t.belongsTo("mailbox", onDelete: .cascade).notNull()
                t.column("permissions", .integer).notNull()  // MailboxPermission's eleven bits
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["userId", "mailboxId"])
            }
            try db.create(index: "mailboxAccess_by_mailbox", on: "mailboxAccess", columns: ["mailboxId"])
            // The permissions pre-selected when a user gets a mailbox of the service.
            try db.alter(table: "mailService") { t in
                t.add(column: "defaultPermissions", .integer).notNull().defaults(to: 1)  // "devices" only
            }
            // Who did it, from where, and the before and after of permission and role changes.
            try db.alter(table: "history") { t in
                t.add(column: "actorKind", .text)   // operator, user, token, operator-as
                t.add(column: "origin", .text)      // "socket uid 0", "127.0.0.1"
                t.add(column: "organizationId", .integer)
                t.add(column: "before", .text)
                t.add(column: "after", .text)
            }
            try db.create(index: "history_by_organization", on: "history", columns: ["organizationId", "id"])
        }
        migrator.registerMigration("v7: API tokens and sessions") { db in
            // A bearer secret of a user, kept only as its keyed digest: an API token (named, for
            // scripts) or a session (from a sign-in, for the web manager).
            try db.create(table: "apiToken") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("user", onDelete: .cascade).notNull()
                t.column("kind", .text).notNull().check(sql: "kind IN ('token', 'session')")
                t.column("name", .text).notNull()
                t.column("digest", .blob).notNull().unique()
                t.column("createdAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
                t.column("lastUsedAt", .datetime)
                t.column("lastIP", .text)
            }
            try db.create(index: "apiToken_by_user", on: "apiToken", columns: ["userId"])
        }
        migrator.registerMigration("v8: outbox") { db in
            // Mail to members (role changes), written with the change and sent by the notifier,
            // retried until sent or given up.
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("recipient", .text).notNull()
                t.column("message", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("nextAttemptAt", .datetime).notNull()
                t.column("lastError", .text)
            }
        }
        migrator.registerMigration("v9: aliases and redirections") { db in
            // An alias is stored in lowercase, unique across the whole service: Postfix asks by address.
            try db.create(table: "alias") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("mailboxId", .integer).notNull().references("mailbox", onDelete: .cascade)
                t.column("address", .text).notNull().unique()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(index: "alias_by_mailbox", on: "alias", columns: ["mailboxId"])
            try db.create(table: "redirection") { t in
                t.primaryKey("mailboxId", .integer).references("mailbox", onDelete: .cascade)
                t.column("targets", .text).notNull()  // one address per line, in order
                t.column("keepCopy", .boolean).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            // An alias may not shadow a mailbox whatever the case: looked up through this index.
            try db.execute(sql: "CREATE INDEX mailbox_address_nocase ON mailbox(address COLLATE NOCASE)")
            try db.alter(table: "organization") { t in
                t.add(column: "redirectionScope", .text).notNull().defaults(to: "any")
            }
        }
        migrator.registerMigration("v10: sorting rules, mail settings, signatures") { db in
            try db.create(table: "sortingRule") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("mailboxId", .integer).notNull().references("mailbox", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("rule", .text).notNull()  // JSON: name, enabled, match, conditions, actions
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(index: "sortingRule_by_mailbox", on: "sortingRule", columns: ["mailboxId", "position"])
            // JSON of the spam filter, the responder and the sender lists; absent: the defaults (all off).
            try db.create(table: "mailSettings") { t in
                t.primaryKey("mailboxId", .integer).references("mailbox", onDelete: .cascade)
                t.column("spam", .text)
                t.column("responder", .text)
                t.column("senders", .text)
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "signature") { t in
                t.column("mailboxId", .integer).notNull().references("mailbox", onDelete: .cascade)
                t.column("userId", .integer).notNull().references("user", onDelete: .cascade)
                t.column("text", .text).notNull()
                t.column("replyTo", .text)
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["mailboxId", "userId"])
            }
        }
        migrator.registerMigration("v11: case-insensitive lookups through lower(), change log") { db in
            // The store's statements look names up as lower(x) = lower(?), which PostgreSQL also runs.
            try db.execute(sql: """
                CREATE INDEX mailbox_address_lower ON mailbox(lower(address));
                CREATE INDEX user_login_lower ON "user"(lower(login));
                CREATE INDEX organization_name_lower ON organization(lower(name));
                CREATE INDEX mailService_name_lower ON mailService(lower(name));
                """)
            // What every write changed in the in-memory indexes, in commit order (see ChangeFeed).
            try db.create(table: "changeLog") { t in
                t.primaryKey("seq", .integer)
                t.column("at", .datetime).notNull()
                t.column("node", .text).notNull()
                t.column("change", .text).notNull()
            }
        }
        migrator.registerMigration("v12: keyset pages") { db in
            // A service's mailboxes in address order, from any cursor: a page of the 100,000-mailbox
            // organization reads as many rows as a page of a 100-mailbox one.
            try db.execute(sql: "CREATE INDEX mailbox_by_service_address ON mailbox(mailServiceId, address)")
        }
        migrator.registerMigration("v13: mail-server tasks") { db in
            // What a write asks of the mail servers (compile and install a Sieve script, a folder
            // change), committed with it and done after the commit, retried until it is.
            try db.execute(sql: """
                CREATE TABLE serverTask (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
                  mailboxId INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE, argument TEXT NOT NULL DEFAULT '',
                  createdAt DATETIME NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, nextAttemptAt DATETIME NOT NULL,
                  lastError TEXT, firstFailedAt DATETIME, generation INTEGER NOT NULL DEFAULT 0);
                CREATE UNIQUE INDEX serverTask_one_script ON serverTask(mailboxId) WHERE kind = 'sieve';
                CREATE INDEX serverTask_due ON serverTask(nextAttemptAt);
                """)
        }
        migrator.registerMigration("v14: clear-text generic passwords found at once") { db in
            // Imported in clear text before they were hashed on the way in: found at start
            // without reading the device table, and hashed (`clearTextGenericPasswords`).
            try db.execute(sql: "CREATE INDEX device_clear_text ON device(id) WHERE kind = 'generic' AND genericHash LIKE '{PLAIN}%'")
        }
        migrator.registerMigration("v15: failed account passwords counted for every node") { db in
            // PostgreSQL's v5; on one node the counts stay in memory, the table is there for the same schema.
            try db.execute(sql: "CREATE TABLE failureCount (subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, lastAt INTEGER NOT NULL)")
            try db.execute(sql: "CREATE INDEX failureCount_lastAt ON failureCount (lastAt)")
        }
        return migrator
    }
}
