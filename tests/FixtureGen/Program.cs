using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using FixtureGen;

// Writes tests/fixtures/gesture: a gesture MLP trained here on synthetic accelerometer windows, its
// test inputs and labels. Run from the repository root: dotnet run --project tests/FixtureGen
string root = args.Length > 0 ? args[0] : Path.Combine("tests", "fixtures");
string dir = Path.Combine(root, "gesture");
Directory.CreateDirectory(dir);

var (trainX, trainY) = GestureData.Generate(4000, seed: 1);
var (testX, testY) = GestureData.Generate(256, seed: 2);

// One mean/std for all features, stored in the model's metadata for the runtime to apply.
double mean = trainX.Average(v => (double)v);
double std = Math.Sqrt(trainX.Average(v => (v - mean) * (v - mean)));
float[] Normalise(float[] x) => x.Select(v => (float)((v - mean) / std)).ToArray();

int[] sizes = [GestureData.Features, 32, 16, GestureData.Classes];
var mlp = new MlpTrainer(sizes, seed: 3);
mlp.Train(Normalise(trainX), trainY, epochs: 12, lr: 0.01, batch: 32, seed: 4);
Console.WriteLine($"gesture MLP: train accuracy {mlp.Accuracy(Normalise(trainX), trainY):P2}, test accuracy {mlp.Accuracy(Normalise(testX), testY):P2}");

var b = new GraphBuilder();
int v = b.Input("accel", Shapes.Batch, GestureData.Features);
for (int l = 0; l < mlp.W.Length; l++)
{
    bool last = l == mlp.W.Length - 1;
    var w = TensorData.FromFloat32($"fc{l + 1}.weight", [sizes[l + 1], sizes[l]], mlp.W[l].Select(x => (float)x).ToArray());
    var bias = TensorData.FromFloat32($"fc{l + 1}.bias", [sizes[l + 1]], mlp.B[l].Select(x => (float)x).ToArray());
    v = b.Dense(v, w, bias, last ? Activation.Identity : Activation.Relu, name: $"fc{l + 1}");
}
b.Output(v);
var meta = new ModelMetadata
{
    ModelName = "gesture-mlp",
    ConverterVersion = "FixtureGen 0.1.0",
    Normalization = new InputNormalization([(float)mean], [(float)std]),
    Labels = [.. GestureData.Labels],
};
EmaWriter.Write(Path.Combine(dir, "gesture-mlp.ema"), new EmaModel(meta, b.Graph));
NpyFile.Write(Path.Combine(dir, "gesture-x.npy"), NpyArray.FromFloat32(testX, testY.Length, GestureData.Features));
NpyFile.Write(Path.Combine(dir, "gesture-y.npy"), NpyArray.FromInt64(testY, testY.Length));
Console.WriteLine($"wrote {dir}");
