; Ruby tags. Every def is captured as a function: one nested in a class or module
; becomes a method (see LanguageSpec.method_scopes).
; py-tree-sitter 0.26 silently ignores #any-of? and #not-any-of?: use #match?.

(class
  name: [(constant) @name.definition.class
         (scope_resolution name: (_) @name.definition.class)]) @definition.class

(module
  name: [(constant) @name.definition.module
         (scope_resolution name: (_) @name.definition.module)]) @definition.module

(method
  name: (_) @name.definition.function) @definition.function

(singleton_method
  name: (_) @name.definition.function) @definition.function

((call
   method: (identifier) @name.reference.call) @reference.call
 (#not-match? @name.reference.call "^(require|require_relative|load)$"))

(call
  receiver: [(constant) @name.reference.type
             (scope_resolution name: (constant) @name.reference.type)]) @reference.type

(superclass
  [(constant) @name.reference.type
   (scope_resolution name: (constant) @name.reference.type)]) @reference.type

((call
   method: (identifier) @_method
   arguments: (argument_list
     (string (string_content) @name.reference.import))) @reference.import
 (#match? @_method "^(require|require_relative|load)$"))
