// Every message and enum of the otn.v1 contract (generated into ./gen by `npm run generate`).
export * from "./gen/otn/v1/errors";
export * from "./gen/otn/v1/resources";
export * from "./gen/otn/v1/sending";
export * from "./gen/otn/v1/service";
export * from "./gen/otn/v1/funnel";
