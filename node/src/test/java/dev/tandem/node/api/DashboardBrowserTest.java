package dev.tandem.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import dev.tandem.node.events.Event;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser: Debian's chromium, headless, driven through Debian's chromedriver (installed by
 * scripts/setup-debian.sh; skipped when they are missing). Screenshots go to node/target/screenshots/.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class DashboardBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SHOTS = Path.of("target/screenshots");

    Path dir;

    FakeView view;
    ApiServer server;
    String admin;
    String viewer;
    ChromeDriverService service;
    WebDriver driver;

    @BeforeAll
    void start(@TempDir Path tmp) throws Exception {
        dir = tmp;
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs Debian's chromium and chromium-driver (scripts/setup-debian.sh)");
        view = new FakeView(dir);
        TokenStore tokens = TokenStore.open(dir.resolve("tokens"));
        admin = tokens.create("alice", Role.ADMIN);
        viewer = tokens.create("victor", Role.VIEWER);
        view.append(Event.of(System.currentTimeMillis() - 60_000, "fw1", Event.TRANSITION,
                "fw1 became ACTIVE: fw2 silent on control link, backup link and LAN/WAN adverts for 1.02 s", null));
        server = ApiServer.start(view, tokens, ApiServer.Settings.plain(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
        Files.createDirectories(SHOTS);

        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort()
                .withLogFile(new File("target/chromedriver.log")).build();
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1400", "--no-first-run", "--disable-extensions", "--user-data-dir=" + dir.resolve("profile"));
        driver = new ChromeDriver(service, o);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(20)).scriptTimeout(Duration.ofSeconds(10));
    }

    @AfterAll
    void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (service != null) {
            service.stop();
        }
        if (server != null) {
            server.close();
        }
        if (view != null) {
            view.close();
        }
    }

    private String base() {
        return "http://127.0.0.1:" + server.address().getPort() + "/";
    }

    private void signIn(String token) {
        driver.get(base());
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        WebDriverWait w = new WebDriverWait(driver, Duration.ofSeconds(15));
        WebElement field = w.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
        field.sendKeys(token);
        driver.findElement(By.cssSelector("#login-form button")).click();
        w.until(ExpectedConditions.textToBe(By.id("live"), "live"));
        w.until(d -> !d.findElement(By.id("state")).getText().equals("…"));
    }

    private void shot(String name) throws Exception {
        Path tmp = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(tmp, SHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    private String text(String id) {
        return driver.findElement(By.id(id)).getText();
    }

    @Test
    void adminSeesLiveChangesAndDemotesWithConfirmation() throws Exception {
        view.setState("ACTIVE");
        signIn(admin);
        assertThat(text("state")).isEqualTo("ACTIVE");
        assertThat(driver.findElement(By.id("state")).getAttribute("class")).contains("state-ACTIVE");
        assertThat(text("whoami")).isEqualTo("alice (admin)");
        assertThat(text("effective-priority")).isEqualTo("150");
        assertThat(text("version")).isEqualTo("0.1.0");
        assertThat(text("monitors")).contains("link group uplinks").contains("up").contains("service dns").contains("DOWN")
                .contains("<b>timeout</b>"); // shown as text, not markup
        assertThat(text("links")).contains("control").contains("connected, mutual TLS 1.3").contains("backup").contains("down");
        assertThat(text("peers")).contains("fw2").contains("PASSIVE");
        assertThat(text("events")).contains("fw1 became ACTIVE: fw2 silent on control link");
        assertThat(driver.findElement(By.id("btn-demote")).isDisplayed()).isTrue();
        shot("admin-active.png");

        // the node changes state: the page follows through the stream, without a reload
        ((JavascriptExecutor) driver).executeScript("window.__noReload = 42");
        long t = System.nanoTime();
        view.setState("PASSIVE");
        view.append(Event.of(System.currentTimeMillis(), "fw1", Event.TRANSITION,
                "fw1 became PASSIVE: fw2 has the higher effective priority (150 > 100)", null));
        new WebDriverWait(driver, Duration.ofSeconds(1), Duration.ofMillis(20))
                .until(ExpectedConditions.textToBe(By.id("state"), "PASSIVE"));
        Duration took = Duration.ofNanos(System.nanoTime() - t);
        assertThat(took).isLessThan(Duration.ofSeconds(1));
        assertThat(((JavascriptExecutor) driver).executeScript("return window.__noReload")).isEqualTo(42L);
        assertThat(driver.findElement(By.id("state")).getAttribute("class")).contains("state-PASSIVE");
        new WebDriverWait(driver, Duration.ofSeconds(2)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.id("events"), "fw1 became PASSIVE"));
        shot("admin-passive.png");

        // demote: cancelling the confirmation does nothing, accepting it reaches the node with the token's name
        view.setState("ACTIVE");
        new WebDriverWait(driver, Duration.ofSeconds(2)).until(ExpectedConditions.textToBe(By.id("state"), "ACTIVE"));
        driver.findElement(By.id("reason")).sendKeys("kernel update");
        driver.findElement(By.id("btn-demote")).click();
        var alert = new WebDriverWait(driver, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent());
        assertThat(alert.getText()).contains("Demote fw1");
        alert.dismiss();
        Thread.sleep(300);
        assertThat(view.calls).isEmpty();
        driver.findElement(By.id("btn-demote")).click();
        new WebDriverWait(driver, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        new WebDriverWait(driver, Duration.ofSeconds(5)).until(ExpectedConditions.textToBe(By.id("action-result"),
                "fw1: demote done"));
        assertThat(view.calls).extracting(FakeView.Call::action, FakeView.Call::who, FakeView.Call::reason)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("demote", "alice", "kernel update"));
        shot("admin-demoted.png");

        // a refusal from the node is shown
        view.refusal = "fw1 is SUSPENDED: resume it first";
        driver.findElement(By.id("btn-suspend")).click();
        new WebDriverWait(driver, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        new WebDriverWait(driver, Duration.ofSeconds(5)).until(ExpectedConditions.textToBePresentInElementLocated(
                By.id("action-result"), "fw1 is SUSPENDED: resume it first"));
        view.refusal = null;
    }

    @Test
    void aViewerSeesNoActionsAndIsRefusedByTheServer() throws Exception {
        signIn(viewer);
        assertThat(text("whoami")).isEqualTo("victor (viewer)");
        assertThat(driver.findElement(By.id("btn-demote")).isDisplayed()).isFalse();
        assertThat(driver.findElement(By.id("actions")).isDisplayed()).isFalse();
        shot("viewer.png");
        int before = view.calls.size();
        // even a hand-made request with the viewer's token is refused
        Object status = ((JavascriptExecutor) driver).executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                        + "fetch('/api/v1/actions/demote', {method: 'POST', headers: {Authorization: 'Bearer ' + "
                        + "sessionStorage.getItem('tandem.token')}}).then(r => r.json().then(b => done([r.status, b.error])));");
        assertThat(status).asList().first().isEqualTo(403L);
        assertThat(view.calls).hasSize(before);
    }

    @Test
    void aBadTokenStaysOnTheLoginForm() throws Exception {
        driver.get(base());
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        WebDriverWait w = new WebDriverWait(driver, Duration.ofSeconds(10));
        w.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys("tdm_wrong");
        driver.findElement(By.cssSelector("#login-form button")).click();
        w.until(ExpectedConditions.textToBePresentInElementLocated(By.id("login-error"), "refused"));
        assertThat(driver.findElement(By.id("app")).isDisplayed()).isFalse();
        assertThat(((JavascriptExecutor) driver).executeScript("return sessionStorage.getItem('tandem.token')")).isNull();
        shot("login-refused.png");
    }
}
