package io.ssmspark.jobs.gpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds a Spark task to the GPU that Spark's scheduler assigned to it, one task per GPU.
 *
 * <p>With {@code spark.task.resource.gpu.amount=1}, Spark hands every task exactly one address of
 * the executor's {@code gpu} resource (the addresses printed by the discovery script,
 * {@code cluster-conf/gpu-discovery.sh}: nvidia-smi's device indices). This class turns that address
 * into a CUDA device index of this process and makes ND4J's affinity manager use it for the task's
 * thread. When {@code CUDA_VISIBLE_DEVICES} lists devices, CUDA renumbers them 0..n-1 in list order,
 * so address {@code a} maps to the position of {@code a} in that list.
 *
 * <p>Every inconsistency is one {@link IllegalArgumentException} naming the setting and the values:
 * GPUs requested while the CPU backend is loaded, a task without a gpu address, more than one
 * address, an address that is not a device index or is not visible to this process.
 */
public final class GpuBinding {

    /** Spark's resource name for GPUs, as used in spark.{executor,task}.resource.gpu.*. */
    public static final String GPU_RESOURCE = "gpu";
    /** GPUs per task; the binding requires 0 (no GPU) or exactly 1. */
    public static final String TASK_GPU_AMOUNT = "spark.task.resource.gpu.amount";
    /** Environment variable through which CUDA hides and renumbers devices. */
    public static final String CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";

    private static final Logger LOG = LoggerFactory.getLogger(GpuBinding.class);

    private final ComputeBackend backend;
    private final String cudaVisibleDevices;

    /**
     * @param backend            the ND4J backend of this JVM
     * @param cudaVisibleDevices the value of CUDA_VISIBLE_DEVICES, or null when it is not set
     */
    public GpuBinding(ComputeBackend backend, String cudaVisibleDevices) {
        this.backend = backend;
        this.cudaVisibleDevices = cudaVisibleDevices;
    }

    /**
     * The one-line entry point for the start of every training or scoring task: binds the running
     * task's thread to its GPU when the configuration requests GPUs, and does nothing otherwise.
     *
     * @return the CUDA device index the task now uses, or empty when no GPU is requested
     * @throws IllegalStateException    when called outside a Spark task
     * @throws IllegalArgumentException when the configuration, the backend and the task's
     *                                  resources do not agree (see the class comment)
     */
    public static OptionalInt bindCurrentTask(SparkConf conf) {
        TaskContext task = TaskContext.get();
        if (task == null) {
            throw new IllegalStateException(
                    "GpuBinding.bindCurrentTask must be called inside a Spark task" + " (TaskContext.get() is null)");
        }
        double gpusPerTask = gpusPerTask(conf);
        if (gpusPerTask == 0) {
            return OptionalInt.empty();
        }
        String taskName = "task " + task.taskAttemptId() + " (stage " + task.stageId() + ", partition "
                + task.partitionId() + ")";
        GpuBinding binding = new GpuBinding(new Nd4jComputeBackend(), System.getenv(CUDA_VISIBLE_DEVICES));
        return binding.bind(gpusPerTask, addressesOf(task.resourcesJMap()), taskName);
    }

    /**
     * Driver-side check before any task starts: when GPUs are requested, ND4J's CUDA backend must
     * be on the classpath (the job jar built with {@code -Pcuda}). Loads no native library.
     */
    public static void requireCudaBackendIfGpusRequested(SparkConf conf) {
        if (gpusPerTask(conf) == 0) {
            return;
        }
        try {
            Class.forName(Nd4jComputeBackend.CUDA_BACKEND_CLASS, false, GpuBinding.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException(TASK_GPU_AMOUNT + "=" + conf.get(TASK_GPU_AMOUNT)
                    + " requests a GPU per task, but ND4J's CUDA backend (" + Nd4jComputeBackend.CUDA_BACKEND_CLASS
                    + ") is not on the classpath: this job jar has the CPU backend (nd4j-native)."
                    + " Build it with 'mvn -Pcuda -DskipTests package', or drop the GPU settings.");
        }
    }

    /**
     * GPUs per task from {@code spark.task.resource.gpu.amount}: 0 when unset, else exactly 1.
     *
     * @throws IllegalArgumentException when the value is not a number, or is neither 0 nor 1
     */
    public static double gpusPerTask(SparkConf conf) {
        String raw = conf.get(TASK_GPU_AMOUNT, "0").trim();
        double amount;
        try {
            amount = Double.parseDouble(raw);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    TASK_GPU_AMOUNT + ": expected a number of GPUs per task, found '" + raw + "'");
        }
        if (amount != 0 && amount != 1) {
            throw new IllegalArgumentException(
                    TASK_GPU_AMOUNT + ": expected 1 (one task per GPU) or 0 (no GPU)," + " found " + raw);
        }
        return amount;
    }

    /** The addresses of each of a task's resources, from Spark's map to plain arrays. */
    public static Map<String, String[]> addressesOf(Map<String, ResourceInformation> resources) {
        Map<String, String[]> addresses = new HashMap<>();
        resources.forEach((name, info) -> addresses.put(name, info.addresses()));
        return addresses;
    }

    /**
     * Binds the calling thread to the task's GPU.
     *
     * @param gpusPerTask   the value of {@link #TASK_GPU_AMOUNT}, as returned by {@link #gpusPerTask}
     * @param taskResources resource name to addresses, as Spark gave them to the task
     * @param taskName      names the task in messages
     * @return the CUDA device index bound, or empty when gpusPerTask is 0
     */
    public OptionalInt bind(double gpusPerTask, Map<String, String[]> taskResources, String taskName) {
        if (gpusPerTask == 0) {
            return OptionalInt.empty();
        }
        if (!backend.isCuda()) {
            throw new IllegalArgumentException(
                    TASK_GPU_AMOUNT + "=" + formatAmount(gpusPerTask) + " requests a GPU for "
                            + taskName + ", but the ND4J backend loaded is " + backend.name()
                            + " (CPU). Build the job jar with 'mvn -Pcuda -DskipTests package'.");
        }
        String[] addresses = taskResources.get(GPU_RESOURCE);
        if (addresses == null || addresses.length == 0) {
            throw new IllegalArgumentException(taskName + " got no '" + GPU_RESOURCE + "' resource address although "
                    + TASK_GPU_AMOUNT + "=" + formatAmount(gpusPerTask) + "; task resources were "
                    + describe(taskResources) + ". Check spark.executor.resource.gpu.amount and"
                    + " spark.executor.resource.gpu.discoveryScript.");
        }
        if (addresses.length > 1) {
            throw new IllegalArgumentException(taskName + " got " + addresses.length + " gpu addresses "
                    + Arrays.toString(addresses) + "; expected exactly one (one task per GPU, "
                    + TASK_GPU_AMOUNT + "=1)");
        }
        int address = parseAddress(addresses[0], taskName);
        int device = deviceIndexOf(address, taskName);
        int visible = backend.visibleDeviceCount();
        if (device >= visible) {
            throw new IllegalArgumentException(taskName + " got gpu address " + address + " (CUDA device " + device
                    + "), but the CUDA backend sees " + visible + " device(s): expected an index in [0, "
                    + visible + ")");
        }
        backend.bindCurrentThread(device);
        LOG.info("{}: gpu address {} bound to CUDA device {}", taskName, address, device);
        return OptionalInt.of(device);
    }

    private static int parseAddress(String address, String taskName) {
        try {
            int value = Integer.parseInt(address.trim());
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(taskName + " got gpu address '" + address + "': expected a"
                + " non-negative device index as printed by cluster-conf/gpu-discovery.sh");
    }

    /** Address (nvidia-smi index) to CUDA device index of this process, through CUDA_VISIBLE_DEVICES. */
    private int deviceIndexOf(int address, String taskName) {
        if (cudaVisibleDevices == null || cudaVisibleDevices.isBlank()) {
            return address;
        }
        List<Integer> visible = new ArrayList<>();
        for (String entry : cudaVisibleDevices.split(",")) {
            try {
                visible.add(Integer.parseInt(entry.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(CUDA_VISIBLE_DEVICES + "=" + cudaVisibleDevices
                        + ": expected comma-separated device indices to map gpu addresses, found '" + entry.trim()
                        + "'");
            }
        }
        int position = visible.indexOf(address);
        if (position < 0) {
            throw new IllegalArgumentException(taskName + " got gpu address " + address + ", which is not in the"
                    + " visible device list " + CUDA_VISIBLE_DEVICES + "=" + cudaVisibleDevices);
        }
        return position;
    }

    private static String formatAmount(double amount) {
        return amount == Math.rint(amount) ? Long.toString((long) amount) : Double.toString(amount);
    }

    private static String describe(Map<String, String[]> resources) {
        StringBuilder text = new StringBuilder("{");
        resources.forEach((name, addresses) -> {
            if (text.length() > 1) {
                text.append(", ");
            }
            text.append(name).append('=').append(Arrays.toString(addresses));
        });
        return text.append('}').toString();
    }
}
