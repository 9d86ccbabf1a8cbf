package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.TandemPair;
import dev.tandem.node.api.Role;
import dev.tandem.node.api.TokenStore;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboards of a real pair in a real browser (Debian's chromium, headless): fw1's page shows it
 * ACTIVE; fw2's page, open as a viewer, has no action buttons and the server refuses its demote;
 * the admin demotes fw1 with the dashboard's button, and fw2's page shows ACTIVE within a second,
 * without a reload. Screenshots in node/target/screenshots/lab-*.png.
 */
class DashboardLabIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SHOTS = Path.of("target/screenshots");
    private static LabTopology lab;
    private static ChromeDriverService service;
    private static WebDriver driver;
    private static Path profile;

    @BeforeAll
    static void up() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs Debian's chromium and chromium-driver (scripts/setup-debian.sh)");
        lab = LabFixture.uniqueLab();
        lab.up(LabConfig.of("default"));
        Files.createDirectories(SHOTS);
        profile = Files.createTempDirectory("tandem-chromium");
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort()
                .withLogFile(new File("target/chromedriver-lab.log")).build();
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1400", "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile,
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding");
        driver = new ChromeDriver(service, o);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(20)).scriptTimeout(Duration.ofSeconds(10));
    }

    @AfterAll
    static void down() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (service != null) {
            service.stop();
        }
        if (lab != null) {
            lab.down();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String url(String fw) {
        return "http://127.0.0.1:" + lab.apiPort(fw) + "/";
    }

    private static void signIn(String fw, String token) {
        driver.get(url(fw));
        WebDriverWait w = new WebDriverWait(driver, Duration.ofSeconds(15));
        w.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys(token);
        driver.findElement(By.cssSelector("#login-form button")).click();
        w.until(ExpectedConditions.textToBe(By.id("live"), "live"));
        w.until(d -> !d.findElement(By.id("state")).getText().equals("…"));
    }

    private static void shot(String name) throws Exception {
        Path tmp = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(tmp, SHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    private static String state() {
        return driver.findElement(By.id("state")).getText();
    }

    @Test
    void theDashboardsFollowAFailoverLiveAndOnlyAnAdminMayDemote() throws Exception {
        FailoverScenario.reset(lab);
        TokenStore tokens = TokenStore.open(lab.runDir().resolve("state/tokens"));
        String admin = tokens.create("ada", Role.ADMIN);
        String viewer = tokens.create("vic", Role.VIEWER);
        try (TandemPair pair = new TandemPair(lab)) {
            pair.start("fw1");
            Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
            pair.start("fw2");
            Netns.await("fw2's dashboard up", Duration.ofSeconds(15), () -> pair.log("fw2").contains("API and dashboard on"));

            signIn("fw1", admin);
            assertThat(state()).isEqualTo("ACTIVE");
            String fw1Tab = driver.getWindowHandle();
            shot("lab-fw1-admin-active.png");

            driver.switchTo().newWindow(WindowType.TAB);
            signIn("fw2", viewer);
            new WebDriverWait(driver, Duration.ofSeconds(10)).until(ExpectedConditions.textToBe(By.id("state"), "PASSIVE"));
            assertThat(driver.findElement(By.id("btn-demote")).isDisplayed()).isFalse();
            String fw2Tab = driver.getWindowHandle();
            ((JavascriptExecutor) driver).executeScript("window.__noReload = 7");
            shot("lab-fw2-viewer-passive.png");
            // the server refuses the viewer's demote whatever the page shows
            HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(url("fw2") + "api/v1/actions/demote")).header("Authorization", "Bearer " + viewer)
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(pair.log("fw2")).doesNotContain("demote requested");

            LabFixture.awaitFw2ReadyToTakeOver(lab);
            driver.switchTo().window(fw1Tab);
            driver.findElement(By.id("btn-demote")).click();
            new WebDriverWait(driver, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
            long clicked = System.nanoTime();
            driver.switchTo().window(fw2Tab);
            try {
                new WebDriverWait(driver, Duration.ofSeconds(3), Duration.ofMillis(20))
                        .until(ExpectedConditions.textToBe(By.id("state"), "ACTIVE"));
            } catch (org.openqa.selenium.TimeoutException e) {
                throw new AssertionError("fw2's page did not show ACTIVE within 3 s of the demote; active: " + lab.active()
                        + "\nfw1:\n" + pair.log("fw1") + "\nfw2:\n" + pair.log("fw2"), e);
            }
            long tookMs = (System.nanoTime() - clicked) / 1_000_000;
            assertThat(tookMs).as("fw2's page shows ACTIVE without a reload").isLessThan(1000);
            assertThat(((JavascriptExecutor) driver).executeScript("return window.__noReload")).isEqualTo(7L);
            new WebDriverWait(driver, Duration.ofSeconds(3)).until(ExpectedConditions.textToBePresentInElementLocated(
                    By.id("events"), "fw2 PASSIVE -> ACTIVE"));
            shot("lab-fw2-viewer-active.png");
            assertThat(lab.active()).isEqualTo("fw2");
            Netns.await("fw1 logged who demoted it", Duration.ofSeconds(3),
                    () -> pair.log("fw1").contains("demote requested by ada (API)"));
            driver.switchTo().window(fw1Tab);
            new WebDriverWait(driver, Duration.ofSeconds(3)).until(ExpectedConditions.textToBe(By.id("state"), "PASSIVE"));
            shot("lab-fw1-admin-demoted.png");

            // Prometheus metrics of the new active, read with the viewer's token
            HttpResponse<String> m = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url("fw2") + "metrics"))
                    .header("Authorization", "Bearer " + viewer).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(m.body()).contains("tandem_node_state{node=\"fw2\",state=\"ACTIVE\"} 1.0")
                    .contains("tandem_transitions_total{node=\"fw2\",to=\"ACTIVE\"} 1.0")
                    .contains("tandem_takeover_seconds_count{node=\"fw2\"} 1")
                    .contains("tandem_heartbeat_path_up{node=\"fw2\",path=\"fw1/control\"} 1.0")
                    .contains("tandem_monitor_up{monitor=\"server\",node=\"fw2\"} 1.0")
                    .contains("tandem_sessions_events_read{node=\"fw2\"}")
                    .contains("tandem_sessions_cache_evicted{node=\"fw2\"}")
                    .contains("tandem_config_version{node=\"fw2\"}")
                    .containsPattern("tandem_config_sync_state\\{node=\"fw2\",state=\"(IN_SYNC|SYNCING)\"} 1.0")
                    .containsPattern("tandem_adverts_sent_total\\{instance=\"vg1 lan0/IPv4\",node=\"fw2\"} [1-9]");
            assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url("fw2") + "metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        }
    }
}
