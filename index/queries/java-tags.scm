; Java tags.

(class_declaration
  name: (identifier) @name.definition.class) @definition.class

(record_declaration
  name: (identifier) @name.definition.class) @definition.class

(interface_declaration
  name: (identifier) @name.definition.interface) @definition.interface

(annotation_type_declaration
  name: (identifier) @name.definition.interface) @definition.interface

(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

(method_declaration
  name: (identifier) @name.definition.method) @definition.method

(constructor_declaration
  name: (identifier) @name.definition.method) @definition.method

(method_invocation
  name: (identifier) @name.reference.call) @reference.call

(object_creation_expression
  type: [(type_identifier) @name.reference.call
         (generic_type (type_identifier) @name.reference.call)
         (scoped_type_identifier (type_identifier) @name.reference.call .)]) @reference.call

; Definition names are dropped from references by the chunker, so this broad pattern is safe.
((type_identifier) @name.reference.type @reference.type)

(import_declaration
  [(identifier) @name.reference.import
   (scoped_identifier name: (identifier) @name.reference.import)]) @reference.import

(import_declaration) @reference.import
