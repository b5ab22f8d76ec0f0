// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 70,000 28x28 grey images of
// Zalando's articles in ten classes, in MNIST's IDX format and shapes, so it
// reuses MNIST's reader and split objects. It is large and optional: it is read
// from a folder, by default where Debian's `dataset-fashion-mnist` package puts
// its files; nothing is downloaded.

import { checkOptions, opt, type OptionRules } from "../core/options";
import { loadIdxSplit, makeSplit, makeTrain, type Mnist, type MnistOptions } from "./mnist";
import { requirePath } from "./provenance";

/**
 * Where Debian's `dataset-fashion-mnist` installs the four gzip-compressed IDX
 * files (`train-images-idx3-ubyte.gz`, ...; `dpkg -L dataset-fashion-mnist`).
 */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The ten Fashion-MNIST classes, by label. */
export const FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"] as const;

/** Options of getFashionMnist: MNIST's, without `full` (the one source is a folder). */
export type FashionMnistOptions = Omit<MnistOptions, "full">;

const fashionRules: OptionRules<FashionMnistOptions> = { flatten: opt.boolean, onehot: opt.boolean, dir: opt.string, seed: opt.integer };

/**
 * Fashion-MNIST as tinyflow Arrays, in getMnist's shapes and dtypes: 60,000
 * training and 10,000 test images. `dir` defaults to Debian's install location
 * ({@link DEBIAN_FASHION_MNIST_DIR}); a missing folder is a MissingDatasetError
 * that says `apt-get install dataset-fashion-mnist`.
 */
export function getFashionMnist(options?: FashionMnistOptions): Mnist {
  const where = "getFashionMnist";
  const opts = checkOptions(where, options, fashionRules);
  const dir = requirePath(
    where,
    opts.dir ?? DEBIAN_FASHION_MNIST_DIR,
    "install Debian's `apt-get install dataset-fashion-mnist`, or pass { dir } with train-images-idx3-ubyte[.gz] and the three other IDX files",
  );
  const flatten = opts.flatten ?? true;
  const onehot = opts.onehot ?? true;
  return {
    train: makeTrain(where, loadIdxSplit(where, dir, "train"), flatten, onehot, opts.seed ?? 0),
    test: makeSplit(loadIdxSplit(where, dir, "t10k"), flatten, onehot),
    info: {
      name: "Fashion-MNIST",
      source: dir === DEBIAN_FASHION_MNIST_DIR ? `Debian package dataset-fashion-mnist (IDX files in ${dir})` : `IDX files in ${dir}`,
      license: "MIT (Expat), Zalando SE",
      citation: "H. Xiao, K. Rasul, R. Vollgraf: Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms, arXiv:1708.07747, 2017",
    },
  };
}
