package io.ssmspark.data;

import io.ssmspark.data.source.FileSplit;
import java.util.List;

/**
 * Every class of this module that Spark serializes (RDD records, shuffle keys and values, task
 * results, broadcasts), for the jobs' Kryo registrator. A test runs the pipelines with {@code
 * spark.kryo.registrationRequired=true} and exactly this list, so a missing class fails it.
 */
public final class DataKryoClasses {
  private DataKryoClasses() {}

  public static final List<Class<?>> KRYO_CLASSES = List.of(
      TokenChunk.class,
      TokenSequence.class,
      BadRecord.class,
      BadRecord[].class,
      ReadItem.class,
      RecordSummary.class,
      PartialTable.class,
      DocumentTable.class,
      FileSplit.class,
      FragmentKey.class,
      Fragment.class,
      Window.class,
      Segment.class,
      TrainingWindows.Layout.class,
      Segments.Layout.class);
}
