/// Every failure a client can see: a stable `code` for programs and a `message` that says what to fix.
public struct PosternError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is: it decides the HTTP status, the same in the API and the web manager.
    public enum Kind: String, Sendable, Codable {
        case invalid, notFound, conflict, forbidden, throttled, unauthenticated, unavailable, `internal`, tooLarge, methodNotAllowed

        public var httpStatus: Int {
            switch self {
            case .invalid: 400
            case .unauthenticated: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .conflict: 409
            case .tooLarge: 413
            case .throttled: 429
            case .internal: 500
            case .unavailable: 503
            }
        }
    }

    /// Every code Postern answers with: `openapi.yaml`'s ErrorCode lists exactly these (a test
    /// keeps the two equal). Import reports use the line codes too.
    public enum Code: String, Sendable, CaseIterable, Codable {
        // invalid
        case aliasDomain = "alias_domain", backupPostgres = "backup_postgres", badRequest = "bad_request", cannotCreate = "cannot_create"
        case confirmationRequired = "confirmation_required", doveadmRefused = "doveadm_refused", duplicateUser = "duplicate_user"
        case expiryInThePast = "expiry_in_the_past", inbox, invalidAddress = "invalid_address", invalidAlias = "invalid_alias"
        case invalidCondition = "invalid_condition", invalidDate = "invalid_date", invalidDeviceName = "invalid_device_name"
        case invalidDomain = "invalid_domain", invalidEncoding = "invalid_encoding", invalidExpiry = "invalid_expiry"
        case invalidFolder = "invalid_folder", invalidHash = "invalid_hash", invalidCursor = "invalid_cursor", invalidId = "invalid_id"
        case invalidLimit = "invalid_limit", invalidLine = "invalid_line"
        case invalidLogin = "invalid_login", invalidName = "invalid_name", invalidPassword = "invalid_password"
        case invalidResponder = "invalid_responder", invalidRule = "invalid_rule", invalidSignature = "invalid_signature"
        case invalidThreshold = "invalid_threshold", lineTooLong = "line_too_long", missingDomain = "missing_domain"
        case missingPassword = "missing_password", noSession = "no_session", noTargets = "no_targets", noUser = "no_user"
        case notInService = "not_in_service", plainPassword = "plain_password", redirectionToItself = "redirection_to_itself"
        case relativePath = "relative_path", replyToNotOwn = "reply_to_not_own", tooManyRules = "too_many_rules"
        case tooManySenders = "too_many_senders", tooManyTargets = "too_many_targets", unknownAction = "unknown_action"
        case unknownLevel = "unknown_level", unknownPermission = "unknown_permission", unknownRole = "unknown_role"
        case unknownScheme = "unknown_scheme", unknownService = "unknown_service", unknownTarget = "unknown_target", unsafePath = "unsafe_path"
        case userRequired = "user_required", weakPassword = "weak_password"
        // notFound
        case accessNotFound = "access_not_found", aliasNotFound = "alias_not_found", deviceNotFound = "device_not_found"
        case domainNotServed = "domain_not_served", grantNotFound = "grant_not_found", mailServiceNotFound = "mail_service_not_found"
        case mailboxNotFound = "mailbox_not_found", memberNotFound = "member_not_found", noRedirection = "no_redirection"
        case noSuchRoute = "no_such_route", notFound = "not_found", organizationNotFound = "organization_not_found", ruleNotFound = "rule_not_found"
        case tokenNotFound = "token_not_found", userNotFound = "user_not_found"
        // conflict
        case addressTaken = "address_taken", backupExists = "backup_exists", deviceExists = "device_exists", domainTaken = "domain_taken"
        case folderInUse = "folder_in_use", genericPasswordCannotBeReset = "generic_password_cannot_be_reset"
        case genericPasswordExists = "generic_password_exists", genericPasswordHasNoExpiry = "generic_password_has_no_expiry"
        case genericPasswordHasNoScope = "generic_password_has_no_scope", importRunning = "import_running"
        case lastLegalRepresentative = "last_legal_representative", mailServiceExists = "mail_service_exists"
        case mailServiceNotEmpty = "mail_service_not_empty", mailboxExists = "mailbox_exists", notACollaborator = "not_a_collaborator"
        case notAMember = "not_a_member", organizationExists = "organization_exists", organizationNotEmpty = "organization_not_empty"
        case redirectionLoop = "redirection_loop", tooManyAliases = "too_many_aliases", tooManyDevices = "too_many_devices"
        case userExists = "user_exists"
        // forbidden
        case csrf, forbidden, passwordRequired = "password_required", redirectionOutside = "redirection_outside", reservedAlias = "reserved_alias"
        case wrongPassword = "wrong_password"
        // throttled
        case confirmationThrottled = "confirmation_throttled", signInThrottled = "sign_in_throttled"
        // unauthenticated
        case invalidToken = "invalid_token", sessionIdle = "session_idle", unauthenticated, unknownCaller = "unknown_caller"
        case wrongLogin = "wrong_login"
        // unavailable
        case foldersOff = "folders_off", importStopped = "import_stopped", noBackup = "no_backup", nodeStale = "node_stale", sieveOff = "sieve_off"
        case sieveUnwritable = "sieve_unwritable", stopping, storeUnavailable = "store_unavailable"
        // internal
        case hashFailed = "hash_failed", `internal`, noServerKey = "no_server_key", sieveInvalid = "sieve_invalid"
        // tooLarge
        case tooLarge = "too_large"
        // methodNotAllowed
        case methodNotAllowed = "method_not_allowed"

        /// The kind of failure the code is (and so its HTTP status).
        public var kind: Kind {
            switch self {
            case .aliasDomain, .backupPostgres, .badRequest, .cannotCreate, .confirmationRequired, .doveadmRefused, .duplicateUser, .expiryInThePast,
                 .inbox, .invalidAddress, .invalidAlias, .invalidCondition, .invalidDate, .invalidDeviceName, .invalidDomain, .invalidEncoding,
                 .invalidExpiry, .invalidFolder, .invalidHash, .invalidCursor, .invalidId, .invalidLimit, .invalidLine, .invalidLogin, .invalidName, .invalidPassword,
                 .invalidResponder, .invalidRule, .invalidSignature, .invalidThreshold, .lineTooLong, .missingDomain, .missingPassword, .noSession,
                 .noTargets, .noUser, .notInService, .plainPassword, .redirectionToItself, .relativePath, .replyToNotOwn, .tooManyRules, .tooManySenders,
                 .tooManyTargets, .unknownAction, .unknownLevel, .unknownPermission, .unknownRole, .unknownScheme, .unknownService, .unknownTarget,
                 .unsafePath, .userRequired, .weakPassword: .invalid
            case .accessNotFound, .aliasNotFound, .deviceNotFound, .domainNotServed, .grantNotFound, .mailServiceNotFound, .mailboxNotFound,
                 .memberNotFound, .noRedirection, .noSuchRoute, .notFound, .organizationNotFound, .ruleNotFound, .tokenNotFound, .userNotFound: .notFound
            case .addressTaken, .backupExists, .deviceExists, .domainTaken, .folderInUse, .genericPasswordCannotBeReset, .genericPasswordExists,
                 .genericPasswordHasNoExpiry, .genericPasswordHasNoScope, .importRunning, .lastLegalRepresentative, .mailServiceExists,
                 .mailServiceNotEmpty, .mailboxExists, .notACollaborator, .notAMember, .organizationExists, .organizationNotEmpty, .redirectionLoop,
                 .tooManyAliases, .tooManyDevices, .userExists: .conflict
            case .csrf, .forbidden, .passwordRequired, .redirectionOutside, .reservedAlias, .wrongPassword: .forbidden
            case .confirmationThrottled, .signInThrottled: .throttled
            case .invalidToken, .sessionIdle, .unauthenticated, .unknownCaller, .wrongLogin: .unauthenticated
            case .foldersOff, .importStopped, .noBackup, .nodeStale, .sieveOff, .sieveUnwritable, .stopping, .storeUnavailable: .unavailable
            case .hashFailed, .internal, .noServerKey, .sieveInvalid: .internal
            case .tooLarge: .tooLarge
            case .methodNotAllowed: .methodNotAllowed
            }
        }
    }

    public let kind: Kind
    /// The code as programs read it: `mailbox_not_found` (always a `Code`'s raw value).
    public let code: String
    public let message: String
    /// When a refused request may be tried again (throttled): the API and the web manager send it
    /// as `Retry-After`.
    public var retryAfter: Duration?

    public var errorCode: Code { Code(rawValue: code) ?? .internal }

    public init(_ code: Code, _ message: String, retryAfter: Duration? = nil) {
        self.init(code, kind: code.kind, message)
        self.retryAfter = retryAfter
    }

    /// `Retry-After`'s value: whole seconds, one at least.
    public var retryAfterSeconds: Int? {
        retryAfter.map { max(1, Int($0.components.seconds) + ($0.components.attoseconds > 0 ? 1 : 0)) }
    }

    /// "1 minute", "15 minutes": how long a wait is, rounded up.
    public static func minutes(_ wait: Duration) -> String {
        let minutes = max(1, Int((Double(wait.components.seconds) / 60).rounded(.up)))
        return minutes == 1 ? "1 minute" : "\(minutes) minutes"
    }

    /// A code whose kind depends on what was refused (doveadm's answer: exists, not found, invalid).
    public init(_ code: Code, kind: Kind, _ message: String) {
        self.kind = kind
        self.code = code.rawValue
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

extension PosternError {
    public static func invalidAddress(_ text: String, why: String) -> PosternError {
        .init(.invalidAddress, "'\(text.prefix(320))' is not a mailbox address: \(why)")
    }
    public static func organizationNotFound(_ name: String) -> PosternError {
        .init(.organizationNotFound, "no organization named \"\(name.prefix(128))\"; `postern org list` shows them")
    }
    public static func serviceNotFound(_ name: String) -> PosternError {
        .init(.mailServiceNotFound, "no mail service named \"\(name.prefix(128))\"; `postern service list` shows them")
    }
    public static func mailboxNotFound(_ address: String) -> PosternError {
        .init(.mailboxNotFound, "no mailbox \(address); add it with `postern mailbox add \(address)`")
    }
    public static func deviceNotFound(_ device: String, mailbox: String) -> PosternError {
        .init(.deviceNotFound, "mailbox \(mailbox) has no device '\(device)'; `postern device list \(mailbox)` shows its devices")
    }
    public static let genericPasswordCannotBeReset = PosternError(
        .genericPasswordCannotBeReset,
        "the generic password cannot be reset or displayed; add a device password instead (`postern device add ADDRESS --name NAME`)")
    public static let confirmationRequired = PosternError(
        .confirmationRequired,
        "disconnecting all devices needs an explicit confirmation (`--yes`, or \"confirm\": true); nothing was changed")
}
