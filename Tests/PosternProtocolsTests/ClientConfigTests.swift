import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PosternProtocols
import Testing

@Suite struct ClientConfigTests {
    let settings = MailClientSettings(imapHost: "imap.example.org", smtpHost: "smtp.example.org")

    @Test func theAutoconfigNamesTheServersAndParses() throws {
        let xml = settings.autoconfig(domain: "example.org")
        let document = try XMLDocument(xmlString: xml)
        func value(_ path: String) throws -> String? { try document.nodes(forXPath: path).first?.stringValue }
        #expect(try value("//incomingServer[@type='imap']/hostname") == "imap.example.org")
        #expect(try value("//incomingServer/port") == "993" && value("//incomingServer/socketType") == "SSL")
        #expect(try value("//outgoingServer/port") == "587" && value("//outgoingServer/socketType") == "STARTTLS")
        #expect(try value("//outgoingServer/username") == "%EMAILADDRESS%")
        var implicit = settings
        implicit.smtpPort = 465
        #expect(implicit.autoconfig(domain: "example.org").contains("<socketType>SSL</socketType>\n      <authentication>password-cleartext</authentication>\n      <username>%EMAILADDRESS%</username>\n    </outgoingServer>"))
    }

    @Test func theProfileIsAPropertyListWithTheAccountAndEscapesWhatItHolds() throws {
        let text = settings.mobileconfig(address: "alice@example.org", password: "abc<&>def", deviceName: "Alice's \"iPhone\"",
                                         uuids: ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"))
        let plist = try #require(try PropertyListSerialization.propertyList(from: Data(text.utf8), format: nil) as? [String: Any])
        #expect(plist["PayloadType"] as? String == "Configuration")
        let account = try #require((plist["PayloadContent"] as? [[String: Any]])?.first)
        #expect(account["PayloadType"] as? String == "com.apple.mail.managed")
        #expect(account["IncomingMailServerHostName"] as? String == "imap.example.org")
        #expect(account["IncomingMailServerPortNumber"] as? Int == 993)
        #expect(account["OutgoingMailServerHostName"] as? String == "smtp.example.org")
        #expect(account["OutgoingMailServerPortNumber"] as? Int == 587)
        #expect(account["IncomingPassword"] as? String == "abc<&>def" && account["EmailAddress"] as? String == "alice@example.org")
        #expect((account["EmailAccountDescription"] as? String)?.contains("\"iPhone\"") == true)
    }
}
