import PostureCLI

@main
extension PostureCommand {}
