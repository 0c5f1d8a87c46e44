/// What a mail program needs to reach the mailbox: the servers, ports and security, and the login.
public struct MailClientSettings: Sendable, Equatable {
    public var imapHost: String
    public var imapPort: Int
    public var smtpHost: String
    public var smtpPort: Int

    public init(imapHost: String, imapPort: Int = 993, smtpHost: String, smtpPort: Int = 587) {
        self.imapHost = imapHost
        self.imapPort = imapPort
        self.smtpHost = smtpHost
        self.smtpPort = smtpPort
    }

    /// 465 is SMTP over TLS from the first byte; any other submission port starts in clear and uses STARTTLS.
    public var smtpImplicitTLS: Bool { smtpPort == 465 }

    /// Thunderbird's autoconfig document (config-v1.1) for a mail domain.
    public func autoconfig(domain: String) -> String {
        let d = XML.escape(domain), imap = XML.escape(imapHost), smtp = XML.escape(smtpHost)
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <clientConfig version="1.1">
              <emailProvider id="\(d)">
                <domain>\(d)</domain>
                <displayName>\(d) mail</displayName>
                <displayShortName>\(d)</displayShortName>
                <incomingServer type="imap">
                  <hostname>\(imap)</hostname>
                  <port>\(imapPort)</port>
                  <socketType>\(imapPort == 143 ? "STARTTLS" : "SSL")</socketType>
                  <authentication>password-cleartext</authentication>
                  <username>%EMAILADDRESS%</username>
                </incomingServer>
                <outgoingServer type="smtp">
                  <hostname>\(smtp)</hostname>
                  <port>\(smtpPort)</port>
                  <socketType>\(smtpImplicitTLS ? "SSL" : "STARTTLS")</socketType>
                  <authentication>password-cleartext</authentication>
                  <username>%EMAILADDRESS%</username>
                </outgoingServer>
              </emailProvider>
            </clientConfig>

            """
    }

    /// An Apple configuration profile (.mobileconfig) with one mail account, its password included.
    public func mobileconfig(address: String, password: String, deviceName: String, uuids: (profile: String, account: String)) -> String {
        let a = XML.escape(address), p = XML.escape(password), n = XML.escape(deviceName)
        let domain = XML.escape(address.split(separator: "@").last.map(String.init) ?? address)
        func server(_ prefix: String, host: String, port: Int, password: String) -> String {
            """
                  <key>\(prefix)MailServerAuthentication</key><string>EmailAuthPassword</string>
                  <key>\(prefix)MailServerHostName</key><string>\(XML.escape(host))</string>
                  <key>\(prefix)MailServerPortNumber</key><integer>\(port)</integer>
                  <key>\(prefix)MailServerUseSSL</key><true/>
                  <key>\(prefix)MailServerUsername</key><string>\(a)</string>
                  <key>\(prefix)Password</key><string>\(password)</string>
            """
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
              <key>PayloadContent</key>
              <array>
                <dict>
                  <key>EmailAccountDescription</key><string>\(a) (\(n))</string>
                  <key>EmailAccountType</key><string>EmailTypeIMAP</string>
                  <key>EmailAddress</key><string>\(a)</string>
            \(server("Incoming", host: imapHost, port: imapPort, password: p))
            \(server("Outgoing", host: smtpHost, port: smtpPort, password: p))
                  <key>OutgoingPasswordSameAsIncomingPassword</key><true/>
                  <key>PayloadDisplayName</key><string>Mail for \(a)</string>
                  <key>PayloadIdentifier</key><string>org.postern.mail.\(uuids.account)</string>
                  <key>PayloadType</key><string>com.apple.mail.managed</string>
                  <key>PayloadUUID</key><string>\(uuids.account)</string>
                  <key>PayloadVersion</key><integer>1</integer>
                </dict>
              </array>
              <key>PayloadDisplayName</key><string>\(domain) mail: \(a)</string>
              <key>PayloadIdentifier</key><string>org.postern.profile.\(uuids.profile)</string>
              <key>PayloadRemovalDisallowed</key><false/>
              <key>PayloadType</key><string>Configuration</string>
              <key>PayloadUUID</key><string>\(uuids.profile)</string>
              <key>PayloadVersion</key><integer>1</integer>
            </dict>
            </plist>

            """
    }
}

enum XML {
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: if scalar.value >= 0x20 || scalar == "\t" { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
