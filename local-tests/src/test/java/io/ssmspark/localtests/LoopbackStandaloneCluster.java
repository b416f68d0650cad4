package io.ssmspark.localtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A Spark standalone cluster on 127.0.0.1 for tests: a Master and {@code workers} Workers, each its own JVM
 * started from this JVM's classpath and Java 17 flags (no Spark installation, no SPARK_HOME), with their logs and
 * work directories under {@code dir}. Executors are launched by the Workers as further JVMs; {@link #executorConf}
 * gives the driver settings that make them use the same classpath and flags.
 *
 * <p>The Workers get a minimal Spark home of their own ({@code dir/spark-home} with an empty {@code jars/}): Spark's
 * launcher insists on one when it builds an executor's command line, and the executors' classes come from
 * spark.executor.extraClassPath instead. Close it (try-with-resources) to stop every JVM it started; a shutdown hook
 * does the same if the test JVM exits first.
 */
final class LoopbackStandaloneCluster implements AutoCloseable {
    static final String HOST = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Path dir;
    private final int masterPort;
    private final int masterUiPort;
    private final List<Process> processes = new ArrayList<>();
    private final Thread shutdownHook = new Thread(this::stopAll, "loopback-cluster-stop");

    private LoopbackStandaloneCluster(Path dir) throws IOException {
        this.dir = dir;
        this.masterPort = freePort();
        this.masterUiPort = freePort();
    }

    /**
     * Starts the Master and the Workers and returns once the Master reports every Worker alive. The ports are picked
     * free just before the Master binds them, so another process may take one in between (seen in CI: the Master's UI
     * moved to the next port and the status page asked was someone else's); then the Master is started again on new
     * ports, up to three times.
     */
    static LoopbackStandaloneCluster start(int workers, Path dir) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            LoopbackStandaloneCluster cluster = new LoopbackStandaloneCluster(dir);
            Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
            try {
                Files.createDirectories(dir.resolve("spark-home").resolve("jars"));
                cluster.launch(
                        "master",
                        List.of(
                                "org.apache.spark.deploy.master.Master",
                                "--host",
                                HOST,
                                "--port",
                                String.valueOf(cluster.masterPort),
                                "--webui-port",
                                String.valueOf(cluster.masterUiPort)));
                if (!cluster.awaitOwnMaster(Duration.ofSeconds(30))) {
                    cluster.close();
                    if (attempt == 3) {
                        throw new IllegalStateException(
                                "the Master did not answer on its own ports in 3 attempts\n" + cluster.logTails());
                    }
                    continue;
                }
                for (int i = 0; i < workers; i++) {
                    Path workDir = Files.createDirectories(dir.resolve("worker-" + i));
                    cluster.launch(
                            "worker-" + i,
                            List.of(
                                    "org.apache.spark.deploy.worker.Worker",
                                    "--host",
                                    HOST,
                                    "--webui-port",
                                    "0",
                                    "--cores",
                                    "1",
                                    "--memory",
                                    "1g",
                                    "--work-dir",
                                    workDir.toString(),
                                    cluster.masterUrl()));
                }
                cluster.await(
                        "the Master to report " + workers + " alive workers", () -> cluster.aliveWorkers() == workers);
                return cluster;
            } catch (IOException | InterruptedException | RuntimeException e) {
                cluster.close();
                throw e;
            }
        }
    }

    /** Whether the status page on masterUiPort is this cluster's Master (its url is masterUrl) within {@code limit}. */
    private boolean awaitOwnMaster(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline && processes.get(0).isAlive()) {
            try (InputStream in = new URL("http://" + HOST + ":" + masterUiPort + "/json/").openStream()) {
                if (masterUrl()
                        .equals(new ObjectMapper().readTree(in).path("url").asText())) {
                    return true;
                }
            } catch (IOException e) {
                // not up yet, or not a Spark Master
            }
            Thread.sleep(200);
        }
        return false;
    }

    String masterUrl() {
        return "spark://" + HOST + ":" + masterPort;
    }

    /**
     * Driver settings for this cluster: executors of 1 core and 1 GiB on this JVM's classpath with its Java 17 flags,
     * one ND4J thread each, at most {@code executors} of them.
     */
    Map<String, String> executorConf(int executors) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.driver.host", HOST);
        conf.put("spark.driver.bindAddress", HOST);
        conf.put("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        conf.put("spark.executor.extraJavaOptions", String.join(" ", java17Flags()));
        conf.put("spark.executor.cores", "1");
        conf.put("spark.executor.memory", "1g");
        conf.put("spark.cores.max", String.valueOf(executors));
        conf.put("spark.executorEnv.OMP_NUM_THREADS", "1");
        conf.put("spark.executorEnv.SPARK_LOCAL_IP", HOST);
        return conf;
    }

    /**
     * The executor JVMs the Workers have started and that still run, one list per Worker: a Worker's child
     * processes that run java (in client deploy mode a Worker starts nothing else).
     */
    List<List<ProcessHandle>> executorProcesses() {
        List<List<ProcessHandle>> perWorker = new ArrayList<>();
        for (Process p : processes.subList(1, processes.size())) {
            perWorker.add(p.children()
                    .filter(h -> h.info().command().orElse("").endsWith("/java"))
                    .toList());
        }
        return perWorker;
    }

    /** The last lines of every log, for failure messages. */
    String logTails() {
        StringBuilder b = new StringBuilder();
        try (var logs = Files.list(dir)) {
            for (Path log :
                    logs.filter(p -> p.toString().endsWith(".log")).sorted().toList()) {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                b.append("== ").append(log.getFileName()).append('\n');
                lines.subList(Math.max(0, lines.size() - 20), lines.size())
                        .forEach(l -> b.append(l).append('\n'));
            }
        } catch (IOException e) {
            b.append("(logs unreadable: ").append(e).append(")");
        }
        return b.toString();
    }

    /** Polls {@code condition} every 200 ms until it holds; fails with the logs after the start timeout. */
    void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            for (Process p : processes) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("waiting for " + what + ": a cluster JVM exited with status "
                            + p.exitValue() + "\n" + logTails());
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "timed out after " + START_TIMEOUT.toSeconds() + " s waiting for " + what + "\n" + logTails());
            }
            Thread.sleep(200);
        }
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down and runs the hook itself
        }
    }

    /** Workers first (each stops its executors), then the Master; whatever is left after 20 s is killed. */
    private synchronized void stopAll() {
        List<ProcessHandle> all = new ArrayList<>();
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            all.addAll(p.descendants().toList());
            all.add(p.toHandle());
            p.destroy();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
        processes.clear();
    }

    private void launch(String name, List<String> mainAndArgs) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.addAll(java17Flags());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(mainAndArgs);
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        Map<String, String> env = builder.environment();
        // Only what this cluster sets: nothing from a Spark installation or a user's Spark settings.
        env.keySet().removeIf(k -> k.startsWith("SPARK_") || k.equals("HADOOP_CONF_DIR") || k.equals("YARN_CONF_DIR"));
        env.put("SPARK_HOME", dir.resolve("spark-home").toString());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_DIRS", dir.resolve("local-dirs").toString()); // the executors' scratch space
        env.put("SPARK_LOCAL_IP", HOST);
        env.put("JAVA_HOME", System.getProperty("java.home"));
        processes.add(builder.start());
    }

    /** The Master's count of ALIVE workers from its JSON status page, or -1 while it does not answer. */
    private int aliveWorkers() {
        try (InputStream in = new URL("http://" + HOST + ":" + masterUiPort + "/json/").openStream()) {
            JsonNode state = new ObjectMapper().readTree(in);
            int alive = 0;
            for (JsonNode w : state.path("workers")) {
                if ("ALIVE".equals(w.path("state").asText())) {
                    alive++;
                }
            }
            return alive;
        } catch (IOException e) {
            return -1;
        }
    }

    /** The --add-opens and -D flags this JVM runs with (Surefire's argLine), which Spark needs on Java 17. */
    static List<String> java17Flags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect."))
                .toList();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        }
    }
}
