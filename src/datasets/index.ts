// tinyflow/datasets: real data sets for the examples and users' experiments,
// each from a package that installs offline and read from disk (never
// downloaded): MNIST (`getMnist`, and `get_mnist` for the TF1 front end) and
// Fashion-MNIST in the IDX file format, Moby-Dick as a character corpus,
// labelled graphs (karate club, Les Misérables) and a tabular set (penguins),
// with batching by PRNG key.

/**
 * Data sets (Node only): MNIST and Fashion-MNIST (IDX files), Moby-Dick (characters),
 * the karate club and Les Misérables graphs, the Palmer penguins; each loader names its source and licence.
 *
 * @module tinyflow/datasets
 */

import "../setup";

export { getMnist, get_mnist, type Mnist, type MnistOptions, type MnistSplit, type MnistTrain } from "./mnist";
export { getFashionMnist, FASHION_MNIST_CLASSES, DEBIAN_FASHION_MNIST_DIR, type FashionMnistOptions } from "./fashion_mnist";
export { getMobyDick, charVocab, textCorpus, type CharVocab, type TextCorpus, type TextSplit, type MobyDickOptions } from "./text";
export { getKarateClub, getMiserables, splitNodes, type GraphDataset, type GraphSplitOptions, type NodeSplit } from "./graphs";
export { getPenguins, type PenguinsOptions, type TabularDataset, type TabularSplit } from "./tabular";
export { epochOrder } from "./batching";
export { MissingDependencyError, MissingDatasetError, type DatasetInfo } from "./provenance";
export { parseIdx, encodeIdx, isGzip, IdxFormatError, type IdxArray, type IdxDType, type IdxData } from "./idx";
