import ArgumentParser
import PostureCLI

@main
extension PostureCommand {}
