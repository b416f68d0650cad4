package io.ssmspark.model.tensor;

import java.util.function.Supplier;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One reused block of memory per thread for the arrays of a repeated computation (a training step's forward and
 * backward, one segment's scoring), as an ND4J workspace.
 *
 * <p>Why: ND4J frees an array's native memory only when the Java GC collects the array object, and the objects of a
 * step are small, so they reach the old generation and their gigabytes of native memory stay allocated across
 * steps. Every step then writes to fresh pages: the bench model's training step touched about 2.4 GB of new pages
 * per step, with more time spent in page faults (system time) than in the math. Inside {@link #open()} arrays are
 * carved from one block that the first step sizes and every later step reuses.
 *
 * <p>The rule: an array created inside the scope is invalid after {@code close()}. Anything that must outlive the
 * step (parameters, gradient accumulators, per-thread caches, results kept by the caller) is created before the
 * scope, with {@link #outside}, or copied out with {@link #keep}.
 */
public final class StepMemory {
  private static final String ID = "ssm-spark-step";
  private static final String LAYER_ID = "ssm-spark-layer";
  private static final WorkspaceConfiguration CONFIG = WorkspaceConfiguration.builder()
      .initialSize(0)
      .policyLearning(LearningPolicy.FIRST_LOOP)   // the first step measures, later steps reuse that size
      .policyAllocation(AllocationPolicy.OVERALLOCATE)
      .overallocationLimit(0.05)
      .policySpill(SpillPolicy.REALLOCATE)         // a larger step grows the block for the next one
      .policyReset(ResetPolicy.BLOCK_LEFT)         // each scope starts again at the block's beginning
      .build();

  private StepMemory() {}

  /** Activates this thread's step workspace until the returned scope is closed (use try-with-resources). */
  public static MemoryWorkspace open() {
    return Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, ID);
  }

  /**
   * Activates this thread's layer workspace: for the temporaries of one layer's backward, which a model's
   * backward reuses from layer to layer, so a step's block holds the forward's activations and not every layer's
   * backward temporaries as well. Only arrays that die with the layer may be made inside; results go into arrays
   * made before (in place).
   */
  public static MemoryWorkspace openLayer() {
    return Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, LAYER_ID);
  }

  /** Runs {@code create} with no workspace active, so what it allocates outlives any open step. */
  public static <T> T outside(Supplier<T> create) {
    try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      return create.get();
    }
  }

  /** {@code a} itself when no workspace holds it, otherwise a copy outside every workspace. */
  public static INDArray keep(INDArray a) {
    return a == null || !a.isAttached() ? a : a.detach();
  }

  /** Frees this thread's workspaces (for threads that will not run another step). */
  public static void release() {
    for (String id : new String[] {ID, LAYER_ID}) {
      if (Nd4j.getWorkspaceManager().checkIfWorkspaceExists(id)) {
        Nd4j.getWorkspaceManager().destroyWorkspace(Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(id));
      }
    }
  }
}
