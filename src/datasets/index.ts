// tinyflow/datasets: MNIST (`getMnist`, and `get_mnist` for the TF1 front
// end) and the IDX file format it is distributed in.

/**
 * MNIST and the IDX file format (Node only).
 *
 * @module tinyflow/datasets
 */

import "../setup";

export { getMnist, get_mnist, MissingDependencyError, type Mnist, type MnistOptions, type MnistSplit, type MnistTrain } from "./mnist";
export { parseIdx, encodeIdx, isGzip, IdxFormatError, type IdxArray, type IdxDType, type IdxData } from "./idx";
