import { BadInputError } from '../errors';

/** Fraction of rows where the prediction equals the truth. */
export function accuracy(yTrue: Int32Array, yPred: Int32Array): number {
  checkPair(yTrue, yPred);
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++;
  return hit / yTrue.length;
}

/**
 * Unweighted mean of per-class F1 over the classes that occur in yTrue or yPred, as scikit-learn's
 * `f1_score(average='macro')`; a class with no true positives scores 0.
 */
export function macroF1(yTrue: Int32Array, yPred: Int32Array, numClasses: number): number {
  const cm = confusion(yTrue, yPred, numClasses);
  let sum = 0;
  let labels = 0;
  for (let k = 0; k < numClasses; k++) {
    const tp = cm[k * numClasses + k];
    let rowSum = 0; // true k
    let colSum = 0; // predicted k
    for (let j = 0; j < numClasses; j++) {
      rowSum += cm[k * numClasses + j];
      colSum += cm[j * numClasses + k];
    }
    if (rowSum === 0 && colSum === 0) continue;
    labels++;
    // 2PR/(P+R) written with counts; equals 0 when tp = 0, and never divides by zero here.
    sum += (2 * tp) / (rowSum + colSum);
  }
  return sum / labels;
}

/**
 * Test accuracy of always predicting the most frequent training label (ties go to the smaller
 * label id): the score a probe must beat to show that it learned anything.
 */
export function majorityBaseline(trainY: Int32Array, testY: Int32Array, numClasses: number): number {
  if (trainY.length === 0) throw new BadInputError('the training split is empty');
  if (testY.length === 0) throw new BadInputError('the test split is empty');
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < trainY.length; i++) counts[checkLabel(trainY[i], numClasses, 'training')]++;
  let best = 0;
  for (let k = 1; k < numClasses; k++) if (counts[k] > counts[best]) best = k;
  let hit = 0;
  for (let i = 0; i < testY.length; i++) if (checkLabel(testY[i], numClasses, 'test') === best) hit++;
  return hit / testY.length;
}

/** Confusion counts, numClasses×numClasses row-major: row = true label, column = predicted label. */
export function confusion(yTrue: Int32Array, yPred: Int32Array, numClasses: number): Int32Array {
  checkPair(yTrue, yPred);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new BadInputError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  const cm = new Int32Array(numClasses * numClasses);
  for (let i = 0; i < yTrue.length; i++) {
    const t = checkLabel(yTrue[i], numClasses, 'true');
    const p = checkLabel(yPred[i], numClasses, 'predicted');
    cm[t * numClasses + p]++;
  }
  return cm;
}

function checkPair(yTrue: Int32Array, yPred: Int32Array): void {
  if (yTrue.length !== yPred.length) {
    throw new BadInputError(`${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  if (yTrue.length === 0) throw new BadInputError('cannot score 0 predictions');
}

function checkLabel(v: number, numClasses: number, what: string): number {
  if (v < 0 || v >= numClasses) throw new BadInputError(`${what} label ${v} is outside 0..${numClasses - 1}`);
  return v;
}
