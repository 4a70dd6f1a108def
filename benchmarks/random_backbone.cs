#:project ../src/TorchVisionModels/TorchVisionModels.csproj
#:property UsesTorchBackend=true
#:property PublishAot=false

// The control of pretrained_backbone.sh: a pretrained backbone's network with torchvision's random initialisation
// instead of its weights, saved with a card that gives it the backbone's preprocessing, so finetune trains it from
// scratch with everything else the same.
//   dotnet run benchmarks/random_backbone.cs -- BACKBONE OUT.pt [SEED]
using TorchVisionModels;
using TorchVisionModels.Backbones;
using TorchVisionModels.Serialization;
using static TorchSharp.torch;

var backbone = PretrainedBackbone.Named(args[0]) ?? throw new ArgumentException($"no backbone is called {args[0]}");
manual_seed(args.Length > 2 ? long.Parse(args[2]) : 0);
using var model = new ResNet(backbone.Block, backbone.Layers);
model.SaveStateDict(args[1]);
var categories = Enumerable.Range(0, 1000).Select(i => $"class {i}").ToList();
ModelCard.For(model, ModelCard.CustomArchitecture, categories, backbone.Transforms(), $"{backbone.ArchitectureName}, torchvision's random initialisation")
    .WriteBeside(args[1]);
Console.WriteLine($"wrote {args[1]}: {backbone.ArchitectureName}, random, with {backbone}'s preprocessing");
