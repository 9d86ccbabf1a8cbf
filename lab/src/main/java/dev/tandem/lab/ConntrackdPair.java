package dev.tandem.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * conntrackd (Debian's 1.4.7) on fw1 and fw2 of the lab: FTFW over UDP on the data link
 * (10.10.4.0/30), external cache, the firewall's own addresses and the VIPs ignored — the comparison
 * baseline for session sync. With keepalived, {@link #notifyScript} is the standard primary-backup.sh
 * (on becoming master: commit the external cache, flush the internal one, resync it from the kernel,
 * send a bulk; on backup / fault: -t, -n).
 */
public final class ConntrackdPair extends ProcessPair {

    public ConntrackdPair(LabTopology lab) {
        super(lab);
    }

    @Override
    public String name() {
        return "conntrackd";
    }

    public static boolean installed() {
        return Cmd.run("sh", "-c", "command -v conntrackd").code() == 0;
    }

    public Path confFile(String fw) {
        return lab.runDir().resolve("conntrackd-" + fw + ".conf");
    }

    String conf(String fw) {
        int n = fw.equals("fw1") ? 1 : 2;
        int peer = 3 - n;
        Path dir = lab.runDir();
        return """
                Sync {
                	Mode FTFW {
                		DisableExternalCache Off
                	}
                	UDP {
                		IPv4_address 10.10.4.%d
                		IPv4_Destination_Address 10.10.4.%d
                		Port 3780
                		Interface data0
                		SndSocketBuffer 1249280
                		RcvSocketBuffer 1249280
                		Checksum on
                	}
                }
                General {
                	HashSize 65536
                	HashLimit 1048576
                	LogFile %s
                	Syslog off
                	LockFile %s
                	UNIX {
                		Path %s
                	}
                	NetlinkBufferSize 2097152
                	NetlinkBufferSizeMaxGrowth 67108864
                	Filter From Userspace {
                		Protocol Accept {
                			TCP
                			UDP
                			ICMP
                		}
                		Address Ignore {
                			IPv4_address 127.0.0.1
                			IPv4_address 10.10.1.%d
                			IPv4_address 10.10.2.%d
                			IPv4_address 10.10.3.%d
                			IPv4_address 10.10.4.%d
                			IPv4_address 10.10.1.254
                			IPv4_address 10.10.2.254
                		}
                	}
                }
                """.formatted(n, peer, dir.resolve("conntrackd-" + fw + ".log"), dir.resolve("conntrackd-" + fw + ".lock"),
                dir.resolve("conntrackd-" + fw + ".ctl"), n, n, n, n);
    }

    /** The standard primary-backup.sh of conntrackd's examples, for this firewall's conntrackd. */
    public Path notifyScript(String fw) {
        Path f = lab.runDir().resolve("primary-backup-" + fw + ".sh");
        String c = "/usr/sbin/conntrackd -C " + confFile(fw);
        String body = """
                #!/bin/sh
                # conntrackd's examples/sync/primary-backup.sh (conntrackd already runs: started by the lab)
                log=%s
                echo "$(date +%%s.%%N) $1" >> $log
                case "$1" in
                  primary)
                    %s -c >> $log 2>&1
                    %s -f >> $log 2>&1
                    %s -R >> $log 2>&1
                    %s -B >> $log 2>&1
                    ;;
                  backup)
                    %s -t >> $log 2>&1
                    %s -n >> $log 2>&1
                    ;;
                  fault)
                    %s -t >> $log 2>&1
                    ;;
                esac
                echo "$(date +%%s.%%N) $1 done" >> $log
                exit 0
                """.formatted(lab.runDir().resolve("notify-" + fw + ".log"), c, c, c, c, c, c, c);
        try {
            Files.writeString(f, body);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            throw new LabException("cannot write " + f + ": " + e.getMessage());
        }
        return f;
    }

    @Override
    protected Path logFile(String fw) {
        return lab.runDir().resolve("conntrackd-" + fw + ".out");
    }

    @Override
    protected Process launch(String fw) {
        try {
            Files.writeString(confFile(fw), conf(fw));
            Files.deleteIfExists(lab.runDir().resolve("conntrackd-" + fw + ".lock"));
            Files.deleteIfExists(lab.runDir().resolve("conntrackd-" + fw + ".ctl"));
        } catch (IOException e) {
            throw new LabException("cannot write " + confFile(fw) + ": " + e.getMessage());
        }
        return JavaProcess.start(List.of("ip", "netns", "exec", lab.ns(fw), "conntrackd", "-C", confFile(fw).toString()),
                logFile(fw));
    }

    /** `conntrackd -C conf ARGS` in fw's namespace. */
    public Cmd.Result control(String fw, String... args) {
        String[] all = new String[7 + args.length];
        System.arraycopy(new String[]{"ip", "netns", "exec", lab.ns(fw), "conntrackd", "-C", confFile(fw).toString()}, 0,
                all, 0, 7);
        System.arraycopy(args, 0, all, 7, args.length);
        return Cmd.run(all);
    }
}
