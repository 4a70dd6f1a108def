using System.CommandLine;
using Inference.Commands;

var root = new RootCommand("torchvision's ResNet family on TorchSharp.")
{
    InfoCommand.Create(),
};
return root.Parse(args).Invoke();
