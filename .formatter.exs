# Used by "mix format"
[
  inputs: ["mix.exs", ".formatter.exs", "{config,lib,test,bench,examples,spec}/**/*.{ex,exs}"]
]
