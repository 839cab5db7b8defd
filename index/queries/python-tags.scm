; Python tags. A decorated definition is captured with its decorators so that the
; definition's lines include them; the chunker deduplicates by name node.

(class_definition
  name: (identifier) @name.definition.class) @definition.class

(function_definition
  name: (identifier) @name.definition.function) @definition.function

(decorated_definition
  definition: (class_definition
    name: (identifier) @name.definition.class)) @definition.class

(decorated_definition
  definition: (function_definition
    name: (identifier) @name.definition.function)) @definition.function

(call
  function: (identifier) @name.reference.call) @reference.call

(call
  function: (attribute
    attribute: (identifier) @name.reference.call)) @reference.call

(class_definition
  superclasses: (argument_list
    [(identifier) @name.reference.type
     (attribute attribute: (identifier) @name.reference.type)])) @reference.type

(type
  [(identifier) @name.reference.type
   (attribute attribute: (identifier) @name.reference.type)
   (generic_type (identifier) @name.reference.type)]) @reference.type

(import_statement
  name: [(dotted_name) @name.reference.import
         (aliased_import name: (dotted_name) @name.reference.import)]) @reference.import

(import_from_statement
  module_name: [(dotted_name) (relative_import)] @name.reference.import) @reference.import

(import_from_statement
  name: [(dotted_name) @name.reference.import
         (aliased_import name: (dotted_name) @name.reference.import)]) @reference.import

(future_import_statement) @reference.import

; Names a change uses without calling them: raised and caught exceptions, and functions or
; classes passed as arguments (callbacks, `assertRaises(NoReverseMatch)`, `signal.connect(f)`).
(raise_statement
  [(identifier) @name.reference.type
   (attribute attribute: (identifier) @name.reference.type)]) @reference.type

(except_clause
  [(identifier) @name.reference.type
   (attribute attribute: (identifier) @name.reference.type)
   (tuple [(identifier) @name.reference.type
           (attribute attribute: (identifier) @name.reference.type)])
   (as_pattern [(identifier) @name.reference.type
                (tuple (identifier) @name.reference.type)])]) @reference.type

(argument_list
  [(identifier) @name.reference.call
   (attribute attribute: (identifier) @name.reference.call)]) @reference.call

(argument_list
  (tuple [(identifier) @name.reference.type
          (attribute attribute: (identifier) @name.reference.type)]) @reference.type)
