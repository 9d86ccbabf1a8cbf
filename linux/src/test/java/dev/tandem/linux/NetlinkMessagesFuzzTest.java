package dev.tandem.linux;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/** Garbage from a netlink socket never crashes the parsers: they parse or throw their one exception. */
class NetlinkMessagesFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void parsersOnlyThrowMalformed(FuzzedDataProvider data) {
        byte[] bytes = data.consumeRemainingAsBytes();
        try {
            for (NetlinkMessages.Message m : NetlinkMessages.split(bytes, bytes.length)) {
                try {
                    NetlinkMessages.link(m);
                } catch (NetlinkMessages.MalformedMessageException e) {
                    // expected for garbage
                }
                try {
                    NetlinkMessages.address(m);
                } catch (NetlinkMessages.MalformedMessageException e) {
                    // expected
                }
                try {
                    NetlinkMessages.error(m);
                } catch (NetlinkMessages.MalformedMessageException e) {
                    // expected
                }
            }
        } catch (NetlinkMessages.MalformedMessageException e) {
            // expected
        }
    }
}
